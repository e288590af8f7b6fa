using System.Security.Cryptography;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Client;

/// <summary>A user's SCRAM credentials as DescribeUserScramCredentials lists them: mechanism and iterations.</summary>
public sealed record ScramUser(string User, IReadOnlyList<(ScramMechanism Mechanism, int Iterations)> Credentials);

/// <summary>SCRAM users over AlterUserScramCredentials and DescribeUserScramCredentials, as kafka-configs does it:
/// the password is salted here and only the salted password travels.</summary>
public static class ScramAdmin
{
    /// <summary>Sets a user's credential for one mechanism (a new random salt each time).</summary>
    public static async Task UpsertAsync(KafkaClient client, string user, ScramMechanism mechanism, string password, int iterations, CancellationToken ct)
    {
        var salt = RandomNumberGenerator.GetBytes(Scram.HashLength(mechanism));
        var req = new AlterUserScramCredentialsRequest
        {
            Upsertions =
            [
                new AlterUserScramCredentialsRequest.ScramCredentialUpsertion
                {
                    Name = user, Mechanism = (sbyte)mechanism, Iterations = iterations, Salt = salt,
                    // the limits are the broker's to apply (UNACCEPTABLE_CREDENTIAL); no key is derived for a count PBKDF2 cannot take
                    SaltedPassword = iterations is > 0 and <= Scram.MaxIterations ? Scram.SaltedPassword(mechanism, password, salt, iterations) : ReadOnlyMemory<byte>.Empty,
                },
            ],
        };
        await AlterAsync(client, req, ct).ConfigureAwait(false);
    }

    public static Task DeleteAsync(KafkaClient client, string user, ScramMechanism mechanism, CancellationToken ct) =>
        AlterAsync(client, new AlterUserScramCredentialsRequest
        {
            Deletions = [new AlterUserScramCredentialsRequest.ScramCredentialDeletion { Name = user, Mechanism = (sbyte)mechanism }],
        }, ct);

    private static async Task AlterAsync(KafkaClient client, AlterUserScramCredentialsRequest req, CancellationToken ct)
    {
        var conn = await client.AdminAsync(ct).ConfigureAwait(false);
        var resp = await conn.SendAsync<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>(req, ct: ct).ConfigureAwait(false);
        foreach (var r in resp.Results)
            if (r.ErrorCode != ErrorCode.None) throw new KafkaErrorException(r.ErrorCode, $"user '{r.User}': {r.ErrorMessage}");
    }

    /// <summary>The users named (none: every user with a credential).</summary>
    public static async Task<List<ScramUser>> DescribeAsync(KafkaClient client, IReadOnlyList<string> users, CancellationToken ct)
    {
        var conn = await client.AdminAsync(ct).ConfigureAwait(false);
        var resp = await conn.SendAsync<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>(new DescribeUserScramCredentialsRequest
        {
            Users = users.Count == 0 ? null : [.. users.Select(u => new DescribeUserScramCredentialsRequest.UserName { Name = u })],
        }, ct: ct).ConfigureAwait(false);
        if (resp.ErrorCode != ErrorCode.None) throw new KafkaErrorException(resp.ErrorCode, resp.ErrorMessage ?? "describing SCRAM users");
        var result = new List<ScramUser>();
        foreach (var r in resp.Results)
        {
            if (r.ErrorCode != ErrorCode.None) throw new KafkaErrorException(r.ErrorCode, $"user '{r.User}': {r.ErrorMessage}");
            result.Add(new ScramUser(r.User, [.. r.CredentialInfos.Select(c => (Scram.OfCode(c.Mechanism), c.Iterations))]));
        }
        return result;
    }
}
