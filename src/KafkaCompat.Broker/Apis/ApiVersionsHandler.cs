// ApiVersions (key 18): versions 0-4. Derived from the registered handlers.
// An unsupported version is answered in v0 with UNSUPPORTED_VERSION and the full list (never a disconnect);
// that path lives in the connection loop because the request cannot be parsed at that version.
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class ApiVersionsHandler : ApiHandler<ApiVersionsRequest, ApiVersionsResponse>
{
    public static ApiVersionsResponse Build(ApiRegistry registry, ErrorCode error)
    {
        var resp = new ApiVersionsResponse { ErrorCode = (short)error };
        foreach (var h in registry.All)
            resp.ApiKeys.Add(new ApiVersionsResponse.ApiVersion { ApiKey = (short)h.Key, MinVersion = h.MinVersion, MaxVersion = h.MaxVersion });
        return resp;
    }

    protected override ValueTask<ApiVersionsResponse?> Handle(RequestContext context, ApiVersionsRequest request) =>
        new(Build(context.Broker.Apis, ErrorCode.None));
}
