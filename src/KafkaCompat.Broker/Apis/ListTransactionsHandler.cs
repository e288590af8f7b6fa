// ListTransactions (key 66): versions 0-2. Every transactional id the coordinator knows (Dead excluded), filtered by
// state names (unknown names are echoed back in unknown_state_filters), by producer id, by duration (v1: only
// transactions running longer than duration_filter ms) and by a regular expression on the id (v2).
using System.Text.RegularExpressions;
using KafkaCompat.Broker.Transactions;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class ListTransactionsHandler : ApiHandler<ListTransactionsRequest, ListTransactionsResponse>
{
    protected override ValueTask<ListTransactionsResponse?> Handle(RequestContext ctx, ListTransactionsRequest req)
    {
        var txns = ctx.Broker.Transactions;
        var resp = new ListTransactionsResponse();
        if (txns.Availability is var a && a != ErrorCode.None)
        {
            resp.ErrorCode = a;
            return new(resp);
        }
        var states = new HashSet<TxnState>();
        foreach (var name in req.StateFilters)
            if (Enum.TryParse<TxnState>(name, ignoreCase: false, out var s) && Enum.IsDefined(s) && name == s.ToString()) states.Add(s);
            else resp.UnknownStateFilters.Add(name);
        Regex? pattern = null;
        if (req.TransactionalIdPattern is { Length: > 0 } p)
        {
            try { pattern = new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)); }
            catch (ArgumentException)
            {
                resp.ErrorCode = ErrorCode.InvalidRegularExpression;
                return new(resp);
            }
        }
        long now = ctx.Broker.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var pids = req.ProducerIdFilters.ToHashSet();
        foreach (var m in txns.List().OrderBy(m => m.TransactionalId, StringComparer.Ordinal))
        {
            if (m.State == TxnState.Dead) continue;
            if (!ctx.Authorize(AclOperation.Describe, AclResourceType.TransactionalId, m.TransactionalId)) continue;
            // on a cluster, each broker lists the transactions it coordinates
            if (!ctx.Broker.Cluster.SingleNode && txns.CoordinatorNode(m.TransactionalId) != ctx.NodeId) continue;
            if (req.StateFilters.Count > 0 && !states.Contains(m.State)) continue;
            if (pids.Count > 0 && !pids.Contains(m.ProducerId)) continue;
            if (req.DurationFilter >= 0 && now - m.StartMs <= req.DurationFilter) continue;
            if (pattern != null && !SafeMatch(pattern, m.TransactionalId)) continue;
            resp.TransactionStates.Add(new ListTransactionsResponse.ListedTransaction
            {
                TransactionalId = m.TransactionalId, ProducerId = m.ProducerId, TransactionState = TransactionCoordinator.StateName(m.State),
            });
        }
        return new(resp);
    }

    private static bool SafeMatch(Regex r, string s)
    {
        try { return r.IsMatch(s); }
        catch (RegexMatchTimeoutException) { return false; }
    }

    protected override IEnumerable<Requirement> Requires(ListTransactionsRequest request, short version) => Nothing;
}
