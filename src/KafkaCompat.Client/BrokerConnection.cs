using System.Buffers.Binary;
using System.Net.Sockets;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Client;

/// <summary>A Kafka error answered by a broker, named as Kafka names it (TOPIC_ALREADY_EXISTS: ...).</summary>
public sealed class KafkaErrorException(ErrorCode code, string? message)
    : Exception(message is { Length: > 0 } ? $"{code.KafkaName()}: {message}" : code.KafkaName())
{
    public ErrorCode Code { get; } = code;
}

/// <summary>The broker could not be reached or broke the connection.</summary>
public sealed class KafkaConnectionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One TCP connection to one broker. On connect it asks ApiVersions and afterwards sends each request at the highest
/// version both sides know. Requests on one connection are sent one at a time.
/// </summary>
public sealed class BrokerConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly string _clientId;
    private Dictionary<short, (short Min, short Max)> _versions = new();
    private int _correlation;

    public string Host { get; }
    public int Port { get; }

    /// <summary>A request was interrupted between its write and the end of its answer: the stream is out of step and
    /// the connection is closed; <see cref="KafkaClient"/> opens a new one.</summary>
    public bool Broken { get; private set; }

    /// <summary>Longest wait for one answer (on top of a Fetch's own wait).</summary>
    public static TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    private BrokerConnection(TcpClient tcp, Stream stream, string host, int port, string clientId)
    {
        _tcp = tcp;
        _stream = stream;
        Host = host;
        Port = port;
        _clientId = clientId;
    }

    /// <summary>Connects, negotiates versions and, on a secured listener, completes TLS and SASL
    /// (<paramref name="security"/>; null: PLAINTEXT).</summary>
    public static async Task<BrokerConnection> ConnectAsync(string host, int port, string clientId, CancellationToken ct, ClientSecurity? security = null)
    {
        security ??= ClientSecurity.Plaintext;
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await tcp.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            tcp.Dispose();
            throw new KafkaConnectionException($"cannot connect to {host}:{port}: {e.Message}", e);
        }
        Stream stream;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            stream = await security.WrapAsync(tcp.GetStream(), host, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            tcp.Dispose();
            throw new KafkaConnectionException($"TLS with {host}:{port} failed: {e.Message}", e);
        }
        var c = new BrokerConnection(tcp, stream, host, port, clientId);
        try
        {
            await c.NegotiateAsync(ct).ConfigureAwait(false);
            if (security.Sasl) await c.AuthenticateAsync(security, ct).ConfigureAwait(false);
        }
        catch
        {
            await c.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return c;
    }

    /// <summary>SaslHandshake v1, then the mechanism's tokens in SaslAuthenticate requests.</summary>
    private async Task AuthenticateAsync(ClientSecurity security, CancellationToken ct)
    {
        var hs = await SendAsync<SaslHandshakeRequest, SaslHandshakeResponse>(new SaslHandshakeRequest { Mechanism = security.Mechanism }, 1, ct).ConfigureAwait(false);
        if (hs.ErrorCode != ErrorCode.None)
            throw new KafkaErrorException(hs.ErrorCode, $"SASL {security.Mechanism}: the broker offers {string.Join(", ", hs.Mechanisms)}");
        var exchange = security.Exchange();
        for (var token = exchange(null); token != null;)
        {
            var resp = await SendAsync<SaslAuthenticateRequest, SaslAuthenticateResponse>(new SaslAuthenticateRequest { AuthBytes = token }, ct: ct).ConfigureAwait(false);
            if (resp.ErrorCode != ErrorCode.None) throw new KafkaErrorException(resp.ErrorCode, resp.ErrorMessage ?? "SASL authentication failed");
            token = exchange(resp.AuthBytes.ToArray());
        }
    }

    private async Task NegotiateAsync(CancellationToken ct)
    {
        var req = new ApiVersionsRequest { ClientSoftwareName = "kafkacompat-cli", ClientSoftwareVersion = "1.0" };
        var resp = await SendAsync<ApiVersionsRequest, ApiVersionsResponse>(req, 3, ct).ConfigureAwait(false);
        if (resp.ErrorCode == ErrorCode.UnsupportedVersion)
            resp = await SendAsync<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0, ct).ConfigureAwait(false);
        if (resp.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)resp.ErrorCode, "ApiVersions");
        _versions = resp.ApiKeys.ToDictionary(k => k.ApiKey, k => (k.MinVersion, k.MaxVersion));
    }

    /// <summary>Whether the broker serves the request type at a version this library knows.</summary>
    public bool Supports<TReq>() where TReq : IKafkaRequest<TReq> => TryVersion<TReq>(out _);

    /// <summary>The highest version whose fields this library fills in, where that is below the codec's: it names
    /// topics by name, and Produce 13 and OffsetCommit/OffsetFetch 10 name them only by id.</summary>
    private static short LibraryMax(ApiKey key) => key switch
    {
        ApiKey.Produce => 12,
        ApiKey.OffsetCommit or ApiKey.OffsetFetch => 9,
        _ => short.MaxValue,
    };

    private bool TryVersion<TReq>(out short version) where TReq : IKafkaRequest<TReq>
    {
        version = -1;
        if (!_versions.TryGetValue((short)TReq.ApiKey, out var range)) return false;
        version = Math.Min(Math.Min(range.Max, TReq.HighestVersion), LibraryMax(TReq.ApiKey));
        return version >= Math.Max(range.Min, TReq.LowestVersion);
    }

    private short BestVersion<TReq>() where TReq : IKafkaRequest<TReq> => TryVersion<TReq>(out var best) ? best
        : throw new KafkaErrorException(ErrorCode.UnsupportedVersion, $"the broker at {Host}:{Port} does not support {TReq.ApiKey}");

    /// <summary>The request as it goes on the wire: size, header (v2 for flexible versions), body.</summary>
    private byte[] Frame<TReq>(TReq request, short version, int correlationId) where TReq : IKafkaRequest<TReq>
    {
        using var w = new KafkaWriter();
        w.WriteInt32(0);
        new RequestHeader { RequestApiKey = (short)TReq.ApiKey, RequestApiVersion = version, CorrelationId = correlationId, ClientId = _clientId }
            .Write(w, TReq.IsFlexible(version) ? (short)2 : (short)1);
        request.Write(w, version);
        var bytes = w.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(bytes, bytes.Length - 4);
        return bytes;
    }

    /// <summary>Sends a request at the best common version (or <paramref name="version"/>) and reads its response.</summary>
    public async Task<TResp> SendAsync<TReq, TResp>(TReq request, short? version = null, CancellationToken ct = default)
        where TReq : IKafkaRequest<TReq> where TResp : IKafkaResponse<TResp>
    {
        short v = version ?? BestVersion<TReq>();
        bool flexible = TReq.IsFlexible(v);
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (Broken) throw new KafkaConnectionException($"connection to {Host}:{Port} was interrupted");
            int id = ++_correlation;
            var bytes = Frame(request, v, id);
            byte[] frame;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(RequestTimeout);
            try
            {
                await _stream.WriteAsync(bytes, timeout.Token).ConfigureAwait(false);
                var size = new byte[4];
                await _stream.ReadExactlyAsync(size, timeout.Token).ConfigureAwait(false);
                int length = BinaryPrimitives.ReadInt32BigEndian(size);
                if (length is < 4 or > 256 << 20) throw new KafkaConnectionException($"{Host}:{Port} sent a frame of {length} bytes");
                frame = new byte[length];
                await _stream.ReadExactlyAsync(frame, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // whatever was cut short, the next answer on this stream would belong to this request
                Broken = true;
                _tcp.Dispose();
                if (e is OperationCanceledException && !ct.IsCancellationRequested)
                    throw new KafkaConnectionException($"{Host}:{Port} did not answer {TReq.ApiKey} within {RequestTimeout.TotalSeconds:0} s", e);
                if (e is IOException or SocketException or EndOfStreamException)
                    throw new KafkaConnectionException($"connection to {Host}:{Port} failed: {e.Message}", e);
                throw;
            }
            return Parse<TReq, TResp>(frame, v, flexible, id);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Sends a request the broker does not answer (Produce with acks=0).</summary>
    public async Task SendWithoutResponseAsync<TReq>(TReq request, CancellationToken ct = default) where TReq : IKafkaRequest<TReq>
    {
        short v = BestVersion<TReq>();
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (Broken) throw new KafkaConnectionException($"connection to {Host}:{Port} was interrupted");
            var bytes = Frame(request, v, ++_correlation);
            try
            {
                await _stream.WriteAsync(bytes, ct).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Broken = true;
                _tcp.Dispose();
                if (e is IOException or SocketException) throw new KafkaConnectionException($"connection to {Host}:{Port} failed: {e.Message}", e);
                throw;
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    private TResp Parse<TReq, TResp>(byte[] frame, short version, bool flexible, int id)
        where TReq : IKafkaRequest<TReq> where TResp : IKafkaResponse<TResp>
    {
        var r = new KafkaReader(frame);
        // ApiVersions answers with header v0 even in its flexible versions
        var header = ResponseHeader.Read(ref r, flexible && TReq.ApiKey != ApiKey.ApiVersions ? (short)1 : (short)0);
        if (header.CorrelationId != id) throw new KafkaConnectionException($"{Host}:{Port} answered correlation {header.CorrelationId}, expected {id}");
        return TResp.Read(ref r, version);
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        _lock.Dispose();
        return ValueTask.CompletedTask;
    }
}
