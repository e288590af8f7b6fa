using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Client;

public sealed record TransactionListing(string TransactionalId, long ProducerId, string State);

public sealed record TransactionView(string TransactionalId, string State, int TimeoutMs, long StartTimeMs, long ProducerId, short ProducerEpoch,
    IReadOnlyList<(string Topic, int Partition)> Partitions);

public sealed record ProducerView(long ProducerId, int Epoch, int LastSequence, long LastTimestamp, int CoordinatorEpoch, long CurrentTxnStartOffset);

/// <summary>ListTransactions, DescribeTransactions and DescribeProducers (like kafka-transactions.sh).</summary>
public static class TransactionAdmin
{
    public static async Task<List<TransactionListing>> ListAsync(KafkaClient client, IReadOnlyList<string> states, long durationMs, CancellationToken ct)
    {
        var conn = await client.AdminAsync(ct).ConfigureAwait(false);
        var resp = await conn.SendAsync<ListTransactionsRequest, ListTransactionsResponse>(new ListTransactionsRequest
        {
            StateFilters = states.ToList(),
            DurationFilter = durationMs,
        }, ct: ct).ConfigureAwait(false);
        if (resp.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)resp.ErrorCode, "listing transactions");
        if (resp.UnknownStateFilters.Count > 0)
            throw new KafkaErrorException(ErrorCode.InvalidRequest, $"unknown transaction states: {string.Join(", ", resp.UnknownStateFilters)}");
        return resp.TransactionStates.Select(t => new TransactionListing(t.TransactionalId, t.ProducerId, t.TransactionState))
            .OrderBy(t => t.TransactionalId, StringComparer.Ordinal).ToList();
    }

    public static async Task<TransactionView> DescribeAsync(KafkaClient client, string transactionalId, CancellationToken ct)
    {
        var conn = await client.TransactionCoordinatorAsync(transactionalId, ct).ConfigureAwait(false);
        var resp = await conn.SendAsync<DescribeTransactionsRequest, DescribeTransactionsResponse>(new DescribeTransactionsRequest
        {
            TransactionalIds = [transactionalId],
        }, ct: ct).ConfigureAwait(false);
        var d = resp.TransactionStates.Single();
        if (d.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)d.ErrorCode, $"transactional id '{transactionalId}'");
        return new TransactionView(d.TransactionalId, d.TransactionState, d.TransactionTimeoutMs, d.TransactionStartTimeMs, d.ProducerId, d.ProducerEpoch,
            d.Topics.SelectMany(t => t.Partitions.Select(p => (t.Topic, p))).ToList());
    }

    public static async Task<List<ProducerView>> DescribeProducersAsync(KafkaClient client, string topic, int partition, CancellationToken ct)
    {
        var conn = await client.AdminAsync(ct).ConfigureAwait(false);
        var resp = await conn.SendAsync<DescribeProducersRequest, DescribeProducersResponse>(new DescribeProducersRequest
        {
            Topics = [new() { Name = topic, PartitionIndexes = [partition] }],
        }, ct: ct).ConfigureAwait(false);
        var p = resp.Topics.Single().Partitions.Single();
        if (p.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)p.ErrorCode, p.ErrorMessage ?? $"{topic}-{partition}");
        return p.ActiveProducers.Select(a => new ProducerView(a.ProducerId, a.ProducerEpoch, a.LastSequence, a.LastTimestamp, a.CoordinatorEpoch, a.CurrentTxnStartOffset)).ToList();
    }
}
