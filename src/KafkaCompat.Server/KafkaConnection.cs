using System.Buffers;
using System.ComponentModel;
using System.Net.Security;
using System.Security.Authentication;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using KafkaCompat.Broker;
using KafkaCompat.Broker.Apis;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Server;

/// <summary>
/// One client connection: reads size-prefixed frames (the size is checked against socket.request.max.bytes
/// and reserved from queued.max.request.bytes before anything is buffered), handles requests one at a time in
/// arrival order and writes each response before the next request is handled. Nothing is read while a request
/// is being served (a long-polling Fetch, a JoinGroup): requests pipelined behind it stay in the socket, beyond
/// the one read already buffered, as Kafka mutes a channel with a request in flight. Protocol violations close
/// this connection with a log line; nothing a client sends can stop the broker.
/// </summary>
internal sealed partial class KafkaConnection(long id, Socket socket, KafkaBroker broker, ILogger logger, CancellationToken stopping, RequestMemoryPool pool,
    KafkaCompat.Broker.Cluster.BrokerNode? node = null, int listener = 0, TlsOptions? tls = null, SaslMechanisms.Listener? sasl = null)
{
    /// <summary>Kafka's sasl.server.max.receive.size: the largest frame before a SASL connection has authenticated.</summary>
    private const int SaslMaxReceive = 524288;
    private readonly SaslSession? _sasl = sasl is null ? null : new SaslSession(sasl.Enabled, sasl.Create) { LifetimeMs = sasl.LifetimeMs };
    /// <summary>Set when the answer just written is the last (a failed SASL exchange): the connection closes after it.</summary>
    private string? _closeAfterFlush;
    /// <summary>How long a client has to complete its TLS handshake.</summary>
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);
    private string _principal = "User:ANONYMOUS";

    private readonly string _remote = socket.RemoteEndPoint?.ToString() ?? "?";
    private readonly string? _localHost = (socket.LocalEndPoint as IPEndPoint)?.Address is { } a
        ? (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).ToString() : null;
    private readonly string _clientHost = "/" + ((socket.RemoteEndPoint as IPEndPoint)?.Address is { } r
        ? (r.IsIPv4MappedToIPv6 ? r.MapToIPv4() : r).ToString() : "unknown");

    private sealed class CloseConnection(string reason) : Exception(reason);

    // connections.max.idle.ms: when the last request was answered, and whether one is being served (never idle then)
    private long _idleSince = Environment.TickCount64;
    private volatile bool _serving;
    private volatile bool _idleClosed;

    /// <summary>Called by the server's idle sweep: shuts the connection down when no request has come for
    /// <paramref name="idleMs"/> and none is being served.</summary>
    public void CloseIfIdle(long now, long idleMs)
    {
        if (_serving || _idleClosed || now - Volatile.Read(ref _idleSince) < idleMs) return;
        _idleClosed = true;
        try { socket.Shutdown(SocketShutdown.Both); }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    // the last request header and the hot APIs' last requests, read into again by the next request
    private readonly MessageCache _messages = new();
    private RequestHeader? _header;
    private readonly ResponseHeader _responseHeader = new();
    // the context of the request being served, set anew for each (one request at a time)
    private RequestContext? _context;

    /// <summary>Requests at least this large are read from the socket straight into their frame.</summary>
    private const int LargeFrame = 128 << 10;

    public async Task RunAsync()
    {
        await using var network = new NetworkStream(socket, ownsSocket: true);
        Stream stream = network;
        if (tls != null)
        {
            // TLS before any Kafka request; a client that does not complete it (a plaintext client on a TLS port, garbage,
            // a certificate refused) is logged and closed
            var ssl = new SslStream(network, leaveInnerStreamOpen: false);
            stream = ssl;
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                deadline.CancelAfter(HandshakeTimeout);
                await ssl.AuthenticateAsServerAsync(tls.ServerOptions(), deadline.Token).ConfigureAwait(false);
                _principal = TlsOptions.Principal(ssl.RemoteCertificate);
            }
            catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or SocketException or Win32Exception)
            {
                LogTlsFailed(logger, id, _remote, broker.Listeners[listener].Name, e.Message);
                await ssl.DisposeAsync().ConfigureAwait(false);
                return;
            }
        }
        // zero-byte reads: an idle connection waits for data without holding a buffer (10,000 idle connections
        // would otherwise pin 10,000 read buffers)
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65536, minimumReadSize: 16384, useZeroByteReads: true));
        var writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 65536));
        int maxSize = broker.Config.SocketRequestMaxBytes;
        // bytes of the frame being read, reserved from queued.max.request.bytes (0: none yet)
        long reserved = 0;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                // no cancellation token: a stopping server and the idle sweep shut the socket down, which ends the read
                var result = await reader.ReadAsync().ConfigureAwait(false);
                _serving = true; // a request is being served: not idle
                var buffer = result.Buffer;
                bool wrote = false;
                bool advanced = false; // the pipe's buffer was given back early (a large frame read past it)
                try
                {
                    while (buffer.Length >= 4)
                    {
                        int size = ReadSize(buffer);
                        bool unauthenticated = _sasl is { State: not SaslState.Complete };
                        if (unauthenticated && size > SaslMaxReceive)
                            throw new CloseConnection($"a frame of {size} bytes before SASL authentication exceeds sasl.server.max.receive.size ({SaslMaxReceive})");
                        if ((size < 8 && !(unauthenticated && _sasl!.RawFrames)) || size < 0 || size > maxSize)
                            throw new CloseConnection(size > maxSize
                                ? $"request of {size} bytes exceeds socket.request.max.bytes ({maxSize})"
                                : $"invalid request size {size}");
                        if (reserved == 0)
                        {
                            // a request that does not fit in the pool waits here, reading nothing more
                            if (wrote && pool.Bounded)
                            {
                                wrote = false;
                                var sent = await writer.FlushAsync(stopping).ConfigureAwait(false);
                                if (sent.IsCompleted) return;
                            }
                            await pool.ReserveAsync(4 + size, stopping).ConfigureAwait(false);
                            reserved = 4 + size;
                        }
                        if (buffer.Length < 4 + size && size < LargeFrame) break;
                        byte[] frame = ArrayPool<byte>.Shared.Rent(size);
                        bool large = buffer.Length < 4 + size;
                        try
                        {
                            if (large)
                            {
                                // a large request (a produce of big records): what the pipe holds goes into the frame,
                                // and the rest is read from the socket straight into it, not through the pipe's 64 KiB
                                // segments and a second copy out of them
                                int have = (int)(buffer.Length - 4);
                                buffer.Slice(4).CopyTo(frame);
                                reader.AdvanceTo(buffer.End);
                                advanced = true;
                                await stream.ReadExactlyAsync(frame.AsMemory(have, size - have), stopping).ConfigureAwait(false);
                            }
                            else
                            {
                                buffer.Slice(4, size).CopyTo(frame);
                                buffer = buffer.Slice(4 + size);
                            }
                            wrote |= _sasl is { State: SaslState.Authenticate, RawFrames: true }
                                ? RawSaslToken(frame.AsMemory(0, size), writer)
                                : await HandleFrameAsync(frame.AsMemory(0, size), writer).ConfigureAwait(false);
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(frame);
                            pool.Release(reserved);
                            reserved = 0;
                        }
                        if (large || _closeAfterFlush != null) break; // the pipe's buffer was given back: read anew
                    }
                }
                finally
                {
                    if (!advanced) reader.AdvanceTo(buffer.Start, buffer.End);
                }
                if (wrote)
                {
                    var flush = await writer.FlushAsync(stopping).ConfigureAwait(false);
                    if (flush.IsCompleted) break;
                }
                if (_closeAfterFlush != null)
                {
                    LogSaslFailed(logger, id, _remote, broker.Listeners[listener].Name, _closeAfterFlush);
                    break;
                }
                Volatile.Write(ref _idleSince, Environment.TickCount64);
                _serving = false;
                if (result.IsCompleted) break;
            }
            if (_idleClosed) LogIdleClosed(logger, id, _remote, broker.Config.ConnectionsMaxIdleMs);
        }
        catch (CloseConnection e)
        {
            LogProtocolError(logger, id, _remote, e.Message);
        }
        catch (HandlerFailedException e)
        {
            LogProtocolError(logger, id, _remote, e.Message);
        }
        catch (ProtocolException e)
        {
            LogProtocolError(logger, id, _remote, e.Message);
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        catch (SocketException) { }
        catch (Exception e)
        {
            LogUnexpected(logger, e, id, _remote);
        }
        finally
        {
            pool.Release(reserved);
            await reader.CompleteAsync().ConfigureAwait(false);
            _sender?.Dispose();
            try { await writer.CompleteAsync().ConfigureAwait(false); } catch (Exception) { }
        }
    }

    private static int ReadSize(ReadOnlySequence<byte> buffer)
    {
        Span<byte> b = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(b);
        return BinaryPrimitives.ReadInt32BigEndian(b);
    }

    /// <summary>Handles one request; returns whether a response was written.</summary>
    private async ValueTask<bool> HandleFrameAsync(ReadOnlyMemory<byte> frame, PipeWriter writer)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var peek = new KafkaReader(frame);
        short apiKey = peek.ReadInt16();
        short version = peek.ReadInt16();
        int correlationId = peek.ReadInt32();
        var handler = broker.Apis.Find(apiKey) ?? throw new CloseConnection($"unknown or unsupported API key {apiKey}");
        string? refusal = null;
        if (_sasl is { } sasl)
        {
            if (sasl is { State: SaslState.Authenticate, RawFrames: false } && handler.Key != ApiKey.SaslAuthenticate)
            {
                // in the middle of the exchange Kafka answers another request with its own error response,
                // ILLEGAL_SASL_STATE, then closes (kafkajs 2.2.4 takes OAUTHBEARER's invalid_token step for success)
                refusal = $"Unexpected Kafka request of type {handler.Key} during SASL authentication.";
            }
            else if (sasl.State != SaslState.Complete)
            {
                // before authentication only ApiVersions and the SASL exchange, as Kafka's SaslServerAuthenticator allows
                bool allowed = handler.Key switch
                {
                    ApiKey.ApiVersions or ApiKey.SaslHandshake => sasl.State == SaslState.Handshake,
                    ApiKey.SaslAuthenticate => sasl.State == SaslState.Authenticate && !sasl.RawFrames,
                    _ => false,
                };
                if (!allowed)
                    throw new CloseConnection($"{handler.Key} before SASL authentication (a client configured with the wrong security protocol, or without SASL)");
            }
            else if (handler.Key != ApiKey.SaslHandshake && sasl.Expired)
                throw new CloseConnection("the SASL session expired (connections.max.reauth.ms) without re-authentication");
        }
        if (version < handler.MinVersion || version > handler.MaxVersion)
        {
            if (handler.Key != ApiKey.ApiVersions)
                throw new CloseConnection($"{handler.Key} v{version} is not supported (serving {handler.MinVersion}-{handler.MaxVersion})");
            // Kafka's rule: answer an ApiVersions we do not know in v0 with UNSUPPORTED_VERSION and our ranges
            var fallback = ApiVersionsHandler.Build(broker.Apis, ErrorCode.UnsupportedVersion);
            WriteResponse(writer, correlationId, flexibleHeader: false, fallback, 0);
            return true;
        }
        var headerReader = new KafkaReader(frame);
        var header = _header = RequestHeader.ReadInto(ref headerReader, handler.IsFlexible(version) ? (short)2 : (short)1, _header);
        var body = frame[headerReader.Position..];
        var ctx = _context ??= new RequestContext
        {
            Broker = broker,
            Node = node,
            LocalHost = _localHost,
            Listener = listener,
            TransportPrincipal = _principal,
            Sasl = _sasl,
            ClientHost = _clientHost,
            Cancellation = stopping,
            Messages = _messages,
        };
        ctx.Handler = handler.Key;
        ctx.ApiVersion = version;
        ctx.CorrelationId = correlationId;
        ctx.ClientId = header.ClientId;
        IKafkaMessage? response;
        ValueTask<IKafkaMessage?> pending = default;
        bool awaited = false;
        try
        {
            pending = refusal is null ? handler.HandleAsync(ctx, body)
                : new(handler.Refuse(ctx, body, ErrorCode.IllegalSaslState) ?? throw new CloseConnection(refusal));
            // a request that waits (JoinGroup, SyncGroup, a long-polling Fetch) must not hold back the answers to
            // the requests before it: send those now, then wait
            if (!pending.IsCompleted) await writer.FlushAsync(stopping).ConfigureAwait(false);
            awaited = true;
            response = await pending.ConfigureAwait(false);
        }
        catch
        {
            // the flush before a wait failed (the client is gone) while the handler still runs: it may read the frame
            // (a delayed request is parsed after its delay) and take map leases for its answer until it ends, so it
            // is waited for before the frame goes back to the pool and its leases are released
            if (!awaited)
            {
                try { await pending.ConfigureAwait(false); }
                catch (Exception) { }
            }
            ctx.ReleaseLeases();
            throw;
        }
        if (response is null)
        {
            ctx.ReleaseLeases();
            ctx.ReturnMessages();
            broker.Metrics.Served(apiKey, version, 4 + frame.Length, 0, started);
            return false;
        }
        if (broker.Faults.ShouldDropResponse(handler.Key, node?.Id ?? broker.NodeId))
        {
            ctx.ReleaseLeases();
            throw new CloseConnection($"fault injection: the {handler.Key} response (correlation id {correlationId}) is dropped");
        }
        // ApiVersions always answers with response header v0
        bool flexibleHeader = handler.IsFlexible(version) && handler.Key != ApiKey.ApiVersions;
        using var w = Serialize(correlationId, flexibleHeader, response, version, ctx);
        // (over TLS the log's bytes go through the TLS stream: no sendfile, as in Kafka)
        if (tls is null && ZeroCopySender.HasFileRegion(w)) await SendZeroCopyAsync(writer, w).ConfigureAwait(false);
        else CopyTo(writer, w);
        broker.Metrics.CountErrors(apiKey, response);
        broker.Metrics.Served(apiKey, version, 4 + frame.Length, 4 + w.Length, started);
        // the response is written: the request's message is kept for the next one
        ctx.ReturnMessages();
        // a failed SASL exchange closes the connection once its answer is sent
        if (_sasl is { State: SaslState.Failed }) _closeAfterFlush ??= _sasl.Failure ?? "SASL authentication failed";
        if (refusal != null) _closeAfterFlush ??= refusal;
        return true;
    }

    /// <summary>A SASL token in a raw frame (after a v0 handshake): the server's token goes back as a raw frame (an
    /// empty one when there is none); a failure closes the connection without an answer, as Kafka does.</summary>
    private bool RawSaslToken(ReadOnlyMemory<byte> frame, PipeWriter writer)
    {
        var step = _sasl!.Authenticate(frame.Span);
        if (step.Error != null)
        {
            _closeAfterFlush = step.Error;
            return false;
        }
        BinaryPrimitives.WriteInt32BigEndian(writer.GetSpan(4), step.Challenge.Length);
        writer.Advance(4);
        writer.Write(step.Challenge);
        return true;
    }

    private ZeroCopySender? _sender;

    /// <summary>Sends a response holding ranges of the log by sendfile (<see cref="ZeroCopySender"/>), after the bytes
    /// before it in the pipe.</summary>
    private async ValueTask SendZeroCopyAsync(PipeWriter writer, KafkaWriter w)
    {
        var flushed = await writer.FlushAsync(stopping).ConfigureAwait(false);
        if (flushed.IsCompleted) throw new IOException("the connection is closed");
        await (_sender ??= new ZeroCopySender()).SendAsync(socket, w).ConfigureAwait(false);
    }

    private void WriteResponse(PipeWriter writer, int correlationId, bool flexibleHeader, IKafkaMessage body, short version)
    {
        using var w = Serialize(correlationId, flexibleHeader, body, version, null);
        CopyTo(writer, w);
    }

    /// <summary>The response header and body; the writer holds the leases (released when it is disposed).</summary>
    private KafkaWriter Serialize(int correlationId, bool flexibleHeader, IKafkaMessage body, short version, RequestContext? leasesOf)
    {
        var w = KafkaWriter.Rent();
        leasesOf?.MoveLeasesTo(w);
        _responseHeader.CorrelationId = correlationId;
        _responseHeader.Write(w, flexibleHeader ? (short)1 : (short)0);
        body.Write(w, version);
        return w;
    }

    private static void CopyTo(PipeWriter writer, KafkaWriter w)
    {
        BinaryPrimitives.WriteInt32BigEndian(writer.GetSpan(4), w.Length);
        writer.Advance(4);
        w.CopyTo(writer);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "connection {Id} from {Remote} closed after {IdleMs} ms without a request (connections.max.idle.ms)")]
    private static partial void LogIdleClosed(ILogger logger, long id, string remote, long idleMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "connection {Id} from {Remote} closed: {Reason}")]
    private static partial void LogProtocolError(ILogger logger, long id, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "connection {Id} from {Remote} to listener {Listener}: SASL authentication failed: {Reason}; closed")]
    private static partial void LogSaslFailed(ILogger logger, long id, string remote, string listener, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "connection {Id} from {Remote} to listener {Listener}: TLS handshake failed: {Reason}; closed")]
    private static partial void LogTlsFailed(ILogger logger, long id, string remote, string listener, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "connection {Id} from {Remote} closed after an unexpected error")]
    private static partial void LogUnexpected(ILogger logger, Exception e, long id, string remote);
}
