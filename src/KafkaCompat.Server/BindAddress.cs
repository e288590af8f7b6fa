using System.Net;

namespace KafkaCompat.Server;

/// <summary>The address a listener binds for a configured host: every interface for <c>0.0.0.0</c>, <c>""</c> and
/// <c>*</c> (<c>::</c> for IPv6), the loopback for <c>localhost</c>, an address as written, else the host name's first
/// address.</summary>
internal static class BindAddress
{
    public static IPAddress Resolve(string host) => host switch
    {
        "0.0.0.0" or "" or "*" => IPAddress.Any,
        "::" => IPAddress.IPv6Any,
        "localhost" => IPAddress.Loopback,
        _ => IPAddress.TryParse(host, out var a) ? a : Dns.GetHostAddresses(host).First(),
    };
}
