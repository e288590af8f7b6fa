// DescribeUserScramCredentials (key 50) and AlterUserScramCredentials (key 51), version 0 (flexible): the cluster's
// SCRAM users, with Kafka's per-user errors. The client salts the password; the broker keeps only the salt, the
// iterations and the two keys derived from the salted password.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class DescribeUserScramCredentialsHandler : ApiHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>
{
    protected override ValueTask<DescribeUserScramCredentialsResponse?> Handle(RequestContext ctx, DescribeUserScramCredentialsRequest req)
    {
        var store = ctx.Broker.Scram;
        var resp = new DescribeUserScramCredentialsResponse();
        // null or empty: every user with a credential
        if (req.Users is not { Count: > 0 } users)
        {
            foreach (var user in store.Users) resp.Results.Add(Result(user, store.Describe(user)));
            return new(resp);
        }
        var counts = users.GroupBy(u => u.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var u in users)
        {
            if (!seen.Add(u.Name)) continue;
            if (counts[u.Name] > 1)
                resp.Results.Add(Failed(u.Name, ErrorCode.DuplicateResource, $"Cannot describe SCRAM credentials for the same user twice in a single request: {u.Name}"));
            else if (store.Describe(u.Name) is { Count: > 0 } credentials)
                resp.Results.Add(Result(u.Name, credentials));
            else
                resp.Results.Add(Failed(u.Name, ErrorCode.ResourceNotFound, $"Attempt to describe a user credential that does not exist: {u.Name}"));
        }
        return new(resp);
    }

    private static DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult Result(string user, IReadOnlyList<(ScramMechanism Mechanism, int Iterations)> credentials)
    {
        var result = new DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult { User = user };
        foreach (var (m, iterations) in credentials)
            result.CredentialInfos.Add(new DescribeUserScramCredentialsResponse.CredentialInfo { Mechanism = (sbyte)m, Iterations = iterations });
        return result;
    }

    private static DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult Failed(string user, ErrorCode error, string message) =>
        new() { User = user, ErrorCode = error, ErrorMessage = message };

    protected override IEnumerable<Requirement> Requires(DescribeUserScramCredentialsRequest request, short version) => [Requirement.Cluster(AclOperation.Describe)];
}

/// <summary>Kafka's controller rules (ScramControlManager): a user changed twice in one request is DUPLICATE_RESOURCE
/// and nothing of it is applied; an empty name or an unknown mechanism, too few (under 4096) or too many (over 16384)
/// iterations, or deleting what does not exist is refused for that user; the rest is applied together. Results: the
/// deletions, then the upsertions, then the refusals.</summary>
public sealed class AlterUserScramCredentialsHandler : ApiHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>
{
    private const string Twice = "A user credential cannot be altered twice in the same request";

    protected override ValueTask<AlterUserScramCredentialsResponse?> Handle(RequestContext ctx, AlterUserScramCredentialsRequest req)
    {
        var store = ctx.Broker.Scram;
        var deletions = new Dictionary<string, ScramChange>(StringComparer.Ordinal);
        var upsertions = new Dictionary<string, ScramChange>(StringComparer.Ordinal);
        var errors = new Dictionary<string, (ErrorCode Code, string Message)>(StringComparer.Ordinal);
        // the order results are given in, within each kind (Kafka's maps have none)
        var order = new List<string>();
        void Refuse(string user, ErrorCode code, string message)
        {
            errors[user] = (code, message);
            if (!order.Contains(user)) order.Add(user);
        }
        foreach (var d in req.Deletions)
        {
            if (errors.ContainsKey(d.Name)) continue;
            var m = Scram.OfCode(d.Mechanism);
            if (deletions.Remove(d.Name)) Refuse(d.Name, ErrorCode.DuplicateResource, Twice);
            else if (Invalid(d.Name, m) is { } invalid) Refuse(d.Name, invalid.Code, invalid.Message);
            else if (store.Get(d.Name, m) is null) Refuse(d.Name, ErrorCode.ResourceNotFound, "Attempt to delete a user credential that does not exist");
            else
            {
                deletions[d.Name] = new ScramChange(d.Name, m, null);
                order.Add(d.Name);
            }
        }
        foreach (var u in req.Upsertions)
        {
            if (errors.ContainsKey(u.Name)) continue;
            var m = Scram.OfCode(u.Mechanism);
            if (deletions.Remove(u.Name) | upsertions.Remove(u.Name)) Refuse(u.Name, ErrorCode.DuplicateResource, Twice);
            else if (Invalid(u.Name, m) is { } invalid) Refuse(u.Name, invalid.Code, invalid.Message);
            else if (u.Iterations < Scram.MinIterations) Refuse(u.Name, ErrorCode.UnacceptableCredential, "Too few iterations");
            else if (u.Iterations > Scram.MaxIterations) Refuse(u.Name, ErrorCode.UnacceptableCredential, "Too many iterations");
            else
            {
                upsertions[u.Name] = new ScramChange(u.Name, m, ScramCredential.FromSaltedPassword(m, u.Salt.ToArray(), u.SaltedPassword.Span, u.Iterations));
                if (!order.Contains(u.Name)) order.Add(u.Name);
            }
        }
        store.Apply([.. deletions.Values, .. upsertions.Values]);
        var resp = new AlterUserScramCredentialsResponse();
        foreach (var user in order.Where(deletions.ContainsKey).Concat(order.Where(upsertions.ContainsKey)))
            resp.Results.Add(new AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult { User = user });
        foreach (var user in order.Where(errors.ContainsKey))
            resp.Results.Add(new AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult { User = user, ErrorCode = errors[user].Code, ErrorMessage = errors[user].Message });
        return new(resp);
    }

    /// <summary>Refused whole (CLUSTER_AUTHORIZATION_FAILED): each user named, once, sorted.</summary>
    protected override AlterUserScramCredentialsResponse? ErrorResponse(AlterUserScramCredentialsRequest request, ErrorCode error) => new()
    {
        Results = [.. request.Deletions.Select(d => d.Name).Concat(request.Upsertions.Select(u => u.Name)).Distinct().Order(StringComparer.Ordinal)
            .Select(u => new AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult { User = u, ErrorCode = error })],
    };

    private static (ErrorCode Code, string Message)? Invalid(string user, ScramMechanism m) =>
        user.Length == 0 ? (ErrorCode.UnacceptableCredential, "Username must not be empty")
        : m == ScramMechanism.Unknown ? (ErrorCode.UnsupportedSaslMechanism, "Unknown SCRAM mechanism")
        : null;

    protected override IEnumerable<Requirement> Requires(AlterUserScramCredentialsRequest request, short version) => [Requirement.Cluster(AclOperation.Alter)];
}
