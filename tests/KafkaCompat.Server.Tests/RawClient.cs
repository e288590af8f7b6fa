using System.Buffers.Binary;
using System.Net.Sockets;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Server.Tests;

/// <summary>A minimal Kafka client over a socket, built on our generated codecs.</summary>
public sealed class RawClient : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private int _correlation;

    public RawClient(int port)
    {
        _tcp = new TcpClient("127.0.0.1", port) { NoDelay = true };
        _stream = _tcp.GetStream();
        _stream.ReadTimeout = 30_000;
    }

    public NetworkStream Stream => _stream;

    public static byte[] Frame<TReq>(TReq body, short version, int correlationId, string? clientId = "raw-test") where TReq : IKafkaRequest<TReq>
    {
        using var w = new KafkaWriter();
        w.WriteInt32(0);
        new RequestHeader
        {
            RequestApiKey = (short)TReq.ApiKey,
            RequestApiVersion = version,
            CorrelationId = correlationId,
            ClientId = clientId,
        }.Write(w, TReq.IsFlexible(version) ? (short)2 : (short)1);
        body.Write(w, version);
        var bytes = w.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(bytes, bytes.Length - 4);
        return bytes;
    }

    public void SendRaw(byte[] bytes) => _stream.Write(bytes);

    public int Send<TReq>(TReq body, short version) where TReq : IKafkaRequest<TReq>
    {
        int id = ++_correlation;
        SendRaw(Frame(body, version, id));
        return id;
    }

    /// <summary>Reads one response frame; returns (correlation id, body after the header).</summary>
    public (int CorrelationId, byte[] Body) ReadFrame(bool flexibleHeader)
    {
        var size = new byte[4];
        _stream.ReadExactly(size);
        var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        _stream.ReadExactly(frame);
        var r = new KafkaReader(frame);
        var header = ResponseHeader.Read(ref r, flexibleHeader ? (short)1 : (short)0);
        return (header.CorrelationId, frame[r.Position..]);
    }

    public TResp Call<TReq, TResp>(TReq body, short version)
        where TReq : IKafkaRequest<TReq> where TResp : IKafkaResponse<TResp>
    {
        int id = Send(body, version);
        var (corr, bytes) = ReadFrame(TReq.IsFlexible(version) && TReq.ApiKey != ApiKey.ApiVersions);
        if (corr != id) throw new InvalidOperationException($"correlation {corr}, expected {id}");
        var r = new KafkaReader(bytes);
        var resp = TResp.Read(ref r, version);
        if (!r.End) throw new InvalidOperationException($"{r.Remaining} bytes left after {typeof(TResp).Name}");
        return resp;
    }

    /// <summary>True when the broker closed the connection (read returns 0 or fails).</summary>
    public bool IsClosedByPeer(TimeSpan wait)
    {
        _stream.ReadTimeout = (int)wait.TotalMilliseconds;
        try
        {
            var buf = new byte[1];
            return _stream.Read(buf) == 0;
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock })
        {
            return false;
        }
        catch (IOException) { return true; }
    }

    public void Dispose() => _tcp.Dispose();
}
