// SaslAuthenticate (key 36): versions 0-2. One token of the SASL exchange after a v1 handshake; the server's token
// back, and once the exchange completes its session lifetime (v1+, KIP-368: connections.max.reauth.ms). A failure is
// SASL_AUTHENTICATION_FAILED with Kafka's message, and the connection closes after the answer.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class SaslAuthenticateHandler : ApiHandler<SaslAuthenticateRequest, SaslAuthenticateResponse>
{
    protected override ValueTask<SaslAuthenticateResponse?> Handle(RequestContext ctx, SaslAuthenticateRequest req)
    {
        if (ctx.Sasl is not { State: SaslState.Authenticate, RawFrames: false } session)
            return new(new SaslAuthenticateResponse
            {
                ErrorCode = ErrorCode.IllegalSaslState,
                ErrorMessage = ctx.Sasl is { State: SaslState.Complete } || ctx.Sasl is null
                    ? "SaslAuthenticate request received after successful authentication"
                    : "Unexpected SaslAuthenticate request with illegal SASL state",
                AuthBytes = ReadOnlyMemory<byte>.Empty,
            });
        var step = session.Authenticate(req.AuthBytes.Span);
        if (step.Error != null)
            return new(new SaslAuthenticateResponse { ErrorCode = ErrorCode.SaslAuthenticationFailed, ErrorMessage = step.Error, AuthBytes = ReadOnlyMemory<byte>.Empty });
        return new(new SaslAuthenticateResponse
        {
            AuthBytes = step.Challenge,
            SessionLifetimeMs = step.Complete ? session.SessionLifetimeMs : 0,
        });
    }

    protected override IEnumerable<Requirement> Requires(SaslAuthenticateRequest request, short version) => Nothing;
}
