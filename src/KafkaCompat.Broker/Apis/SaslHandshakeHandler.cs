// SaslHandshake (key 17): versions 0-1. Chooses the SASL mechanism of a connection on a SASL listener: v1 carries the
// tokens in SaslAuthenticate requests, v0 as raw frames. Elsewhere, and after authentication (unless the session is
// re-authenticated, KIP-368), ILLEGAL_SASL_STATE with no mechanisms, as Kafka answers.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class SaslHandshakeHandler : ApiHandler<SaslHandshakeRequest, SaslHandshakeResponse>
{
    protected override ValueTask<SaslHandshakeResponse?> Handle(RequestContext ctx, SaslHandshakeRequest req)
    {
        if (ctx.Sasl is not { } session) return new(new SaslHandshakeResponse { ErrorCode = ErrorCode.IllegalSaslState });
        var error = session.Handshake(req.Mechanism, ctx.ApiVersion);
        return new(new SaslHandshakeResponse
        {
            ErrorCode = error,
            Mechanisms = error == ErrorCode.IllegalSaslState ? [] : [.. session.Enabled],
        });
    }

    protected override IEnumerable<Requirement> Requires(SaslHandshakeRequest request, short version) => Nothing;
}
