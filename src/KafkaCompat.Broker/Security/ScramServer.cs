using System.Text;
using System.Text.RegularExpressions;
using KafkaCompat.Protocol;

namespace KafkaCompat.Broker.Security;

/// <summary>
/// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802) against the cluster's stored credentials, as Kafka's ScramSaslServer:
/// client-first (<c>n,[a=authzid],n=user,r=nonce</c>), server-first with the stored salt and iterations, client-final
/// with the proof, checked against the stored key, and server-final with the server's signature. Every failure but a
/// differing authorization id is hidden behind Kafka's generic message; the reason goes to the log only. An unknown
/// user fails at client-first, as in Kafka.
/// </summary>
/// <param name="nonce">The server's nonce (a fresh random one by default; the fuzzer fixes it to reach the proof).</param>
public sealed partial class ScramServer(ScramMechanism mechanism, Func<string, ScramMechanism, ScramCredential?> credentials, Func<string>? nonce = null) : ISaslMechanism
{
    private enum Step { ClientFirst, ClientFinal, Done }
    private Step _step = Step.ClientFirst;
    private string _user = "";
    private string _clientFirstBare = "";
    private string _serverFirst = "";
    private string _nonce = "";
    private ScramCredential? _credential;

    public SaslStep Evaluate(ReadOnlySpan<byte> response)
    {
        string text;
        try { text = new UTF8Encoding(false, true).GetString(response); }
        catch (DecoderFallbackException) { return Hidden("the SCRAM message is not UTF-8"); }
        switch (_step)
        {
            case Step.ClientFirst:
            {
                var m = ClientFirstMessage().Match(text);
                if (!m.Success) return Hidden("Invalid SCRAM client first message format");
                var user = Scram.UnescapeName(m.Groups["name"].Value);
                var authzid = m.Groups["authzid"].Success ? Scram.UnescapeName(m.Groups["authzid"].Value) : "";
                if (user is null || authzid is null) return Hidden("Invalid SCRAM client first message format: bad escape in a name");
                foreach (Capture ext in m.Groups["ext"].Captures)
                    if (ext.Value.StartsWith(",tokenauth=", StringComparison.Ordinal))
                        return Hidden("delegation tokens are not served");
                if (credentials(user, mechanism) is not { } credential) return Hidden($"Authentication failed: Invalid user credentials ({user} has no {Scram.Name(mechanism)} credential)");
                if (credential.Iterations < Scram.MinIterations) return Hidden($"Iterations {credential.Iterations} is less than the minimum {Scram.MinIterations}");
                if (authzid.Length > 0 && authzid != user)
                    return new([], false, null, "Authentication failed: Client requested an authorization id that is different from username");
                _user = user;
                _credential = credential;
                _clientFirstBare = text[m.Groups["bare"].Index..];
                _nonce = m.Groups["nonce"].Value + (nonce ?? Scram.Nonce)();
                _serverFirst = $"r={_nonce},s={Convert.ToBase64String(credential.Salt)},i={credential.Iterations}";
                _step = Step.ClientFinal;
                return new(Encoding.UTF8.GetBytes(_serverFirst), false, null, null);
            }
            case Step.ClientFinal:
            {
                var m = ClientFinalMessage().Match(text);
                if (!m.Success) return Hidden("Invalid SCRAM client final message format");
                // Kafka checks that the nonce ends with the one it sent: librdkafka puts its own nonce before the whole of it
                if (!m.Groups["nonce"].Value.EndsWith(_nonce, StringComparison.Ordinal)) return Hidden("Invalid client nonce in the final client message.");
                byte[] proof;
                try { proof = Convert.FromBase64String(m.Groups["proof"].Value); }
                catch (FormatException) { return Hidden("Invalid SCRAM client final message format: the proof is not base64"); }
                string authMessage = _clientFirstBare + "," + _serverFirst + "," + text[..m.Groups["proofpart"].Index];
                if (!Scram.VerifyProof(mechanism, _credential!.StoredKey, authMessage, proof)) return Hidden("Invalid client credentials");
                _step = Step.Done;
                var signature = Scram.ServerSignature(mechanism, _credential.ServerKey, authMessage);
                return new(Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(signature)), true, "User:" + _user, null);
            }
            default:
                return Hidden("Unexpected SCRAM message after the exchange completed");
        }
    }

    private static SaslStep Hidden(string reason) => new([], false, null, reason, Hidden: true);

    // RFC 5802's grammar as Kafka's ScramMessages reads it: gs2 header "n," (no channel binding), an optional
    // authzid, an optional reserved m=, the name, the nonce, then extensions
    [GeneratedRegex(@"^n,(?:a=(?<authzid>[^,]*))?,(?<bare>(?:m=[^,]*,)?n=(?<name>[^,]*),r=(?<nonce>[\x21-\x2b\x2d-\x7e]+)(?<ext>,[A-Za-z]+=[^,]*)*)$")]
    private static partial Regex ClientFirstMessage();

    [GeneratedRegex(@"^c=(?<channel>[A-Za-z0-9+/]*={0,2}),r=(?<nonce>[\x21-\x2b\x2d-\x7e]+)(?:,[A-Za-z]+=[^,]*)*(?<proofpart>,p=(?<proof>[A-Za-z0-9+/]+={0,2}))$")]
    private static partial Regex ClientFinalMessage();
}
