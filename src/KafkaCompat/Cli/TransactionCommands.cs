using System.CommandLine;
using KafkaCompat.Client;
using Spectre.Console;
using static KafkaCompat.Host.Cli.CliSupport;

namespace KafkaCompat.Host.Cli;

/// <summary><c>kafkacompat transaction list|describe|producers</c> (like kafka-transactions.sh).</summary>
public static class TransactionCommands
{
    public static Command Build()
    {
        var txn = new Command("transaction", "List and describe transactions, and the producers a partition knows");
        txn.Options.Add(Bootstrap);
        txn.Options.Add(CommandConfig);
        txn.Options.Add(Output);
        txn.Subcommands.Add(List());
        txn.Subcommands.Add(Describe());
        txn.Subcommands.Add(Producers());
        return txn;
    }

    private static Command List()
    {
        var states = new Option<string[]>("--state") { Description = "Only these states (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, PrepareEpochFence)", AllowMultipleArgumentsPerToken = true };
        var duration = new Option<long>("--duration-ms") { Description = "Only transactions open longer than this many ms", DefaultValueFactory = _ => -1 };
        var cmd = new Command("list", "List transactional ids with their producer id and state") { states, duration };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            var list = await TransactionAdmin.ListAsync(client, p.GetValue(states) ?? [], p.GetValue(duration), ct);
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartArray();
                foreach (var t in list)
                {
                    w.WriteStartObject();
                    w.WriteString("transactionalId", t.TransactionalId);
                    w.WriteNumber("producerId", t.ProducerId);
                    w.WriteString("state", t.State);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            else
            {
                var table = NewTable("Transactional id", "Producer id", "State");
                foreach (var t in list) AddRow(table, t.TransactionalId, t.ProducerId, t.State);
                AnsiConsole.Write(table);
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Describe()
    {
        var id = new Argument<string>("transactional-id") { Description = "Transactional id" };
        var cmd = new Command("describe", "Show a transactional id's state, producer id and epoch, timeout, start time and partitions") { id };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            var v = await TransactionAdmin.DescribeAsync(client, p.GetValue(id)!, ct);
            string started = v.StartTimeMs < 0 ? "-" : DateTimeOffset.FromUnixTimeMilliseconds(v.StartTimeMs).ToString("O");
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("transactionalId", v.TransactionalId);
                w.WriteString("state", v.State);
                w.WriteNumber("producerId", v.ProducerId);
                w.WriteNumber("producerEpoch", v.ProducerEpoch);
                w.WriteNumber("timeoutMs", v.TimeoutMs);
                w.WriteNumber("startTimeMs", v.StartTimeMs);
                w.WriteStartArray("partitions");
                foreach (var (t, part) in v.Partitions) w.WriteStringValue($"{t}-{part}");
                w.WriteEndArray();
                w.WriteEndObject();
            });
            else
            {
                var table = NewTable("Transactional id", "State", "Producer id", "Epoch", "Timeout ms", "Started", "Partitions");
                AddRow(table, v.TransactionalId, v.State, v.ProducerId, v.ProducerEpoch, v.TimeoutMs, started,
                    string.Join(",", v.Partitions.Select(x => $"{x.Topic}-{x.Partition}")));
                AnsiConsole.Write(table);
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Producers()
    {
        var topic = new Option<string>("--topic") { Description = "Topic", Required = true };
        var partition = new Option<int>("--partition") { Description = "Partition", DefaultValueFactory = _ => 0 };
        var cmd = new Command("producers", "Show the producer ids a partition remembers: epoch, last sequence, open transaction") { topic, partition };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            var list = await TransactionAdmin.DescribeProducersAsync(client, p.GetValue(topic)!, p.GetValue(partition), ct);
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartArray();
                foreach (var x in list)
                {
                    w.WriteStartObject();
                    w.WriteNumber("producerId", x.ProducerId);
                    w.WriteNumber("epoch", x.Epoch);
                    w.WriteNumber("lastSequence", x.LastSequence);
                    w.WriteNumber("lastTimestamp", x.LastTimestamp);
                    w.WriteNumber("coordinatorEpoch", x.CoordinatorEpoch);
                    w.WriteNumber("currentTransactionStartOffset", x.CurrentTxnStartOffset);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            else
            {
                var table = NewTable("Producer id", "Epoch", "Last sequence", "Last timestamp", "Coordinator epoch", "Open transaction from");
                foreach (var x in list) AddRow(table, x.ProducerId, x.Epoch, x.LastSequence, x.LastTimestamp, x.CoordinatorEpoch, x.CurrentTxnStartOffset < 0 ? "-" : x.CurrentTxnStartOffset);
                AnsiConsole.Write(table);
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
