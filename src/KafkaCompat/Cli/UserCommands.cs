using System.CommandLine;
using KafkaCompat.Client;
using KafkaCompat.Protocol;
using Spectre.Console;
using static KafkaCompat.Host.Cli.CliSupport;

namespace KafkaCompat.Host.Cli;

/// <summary><c>kafkacompat user add|list|remove</c>: SCRAM users (what <c>kafka-configs --entity-type users</c> does
/// with SCRAM-SHA-256=[password=...]).</summary>
public static class UserCommands
{
    private static readonly string[] Both = ["SCRAM-SHA-256", "SCRAM-SHA-512"];

    public static Command Build()
    {
        var user = new Command("user", "Add, list and remove SCRAM users (SASL/SCRAM-SHA-256 and SCRAM-SHA-512)");
        user.Options.Add(Bootstrap);
        user.Options.Add(CommandConfig);
        user.Options.Add(Output);
        user.Subcommands.Add(Add());
        user.Subcommands.Add(List());
        user.Subcommands.Add(Remove());
        return user;
    }

    private static Option<string[]> MechanismOption(string description) =>
        new("--mechanism") { Description = description, AllowMultipleArgumentsPerToken = true };

    private static ScramMechanism[] Mechanisms(string[]? names, IEnumerable<string> fallback) =>
        [.. (names is { Length: > 0 } ? names : fallback).Select(n => Scram.Parse(n) is var m && m != ScramMechanism.Unknown ? m
            : throw new UsageException($"--mechanism: {n} is not SCRAM-SHA-256 or SCRAM-SHA-512"))];

    private static Command Add()
    {
        var name = new Argument<string>("name") { Description = "User name (the principal is User:NAME)" };
        var password = new Option<string>("--password") { Description = "The user's password", Required = true };
        var mechanisms = MechanismOption("SCRAM-SHA-256 and/or SCRAM-SHA-512 (default: both)");
        var iterations = new Option<int>("--iterations") { Description = $"PBKDF2 iterations, {Scram.MinIterations}-{Scram.MaxIterations}", DefaultValueFactory = _ => Scram.MinIterations };
        var cmd = new Command("add", "Set a user's SCRAM credentials (replacing any it had for those mechanisms)") { name, password, mechanisms, iterations };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            // one request per mechanism: Kafka refuses two changes of one user in a request
            foreach (var m in Mechanisms(p.GetValue(mechanisms), Both))
                await ScramAdmin.UpsertAsync(client, p.GetValue(name)!, m, p.GetValue(password)!, p.GetValue(iterations), ct);
            if (!Json(p)) Console.WriteLine($"user {p.GetValue(name)} set");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command List()
    {
        var names = new Argument<string[]>("names") { Description = "Users to show (default: all)", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("list", "List SCRAM users with their mechanisms and iterations") { names };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            var users = await ScramAdmin.DescribeAsync(client, p.GetValue(names) ?? [], ct);
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartArray();
                foreach (var u in users)
                {
                    w.WriteStartObject();
                    w.WriteString("user", u.User);
                    w.WriteStartArray("credentials");
                    foreach (var (m, i) in u.Credentials)
                    {
                        w.WriteStartObject();
                        w.WriteString("mechanism", Scram.Name(m));
                        w.WriteNumber("iterations", i);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            else
            {
                var table = NewTable("User", "Mechanism", "Iterations");
                foreach (var u in users)
                    foreach (var (m, i) in u.Credentials) AddRow(table, u.User, Scram.Name(m), i);
                AnsiConsole.Write(table);
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Remove()
    {
        var name = new Argument<string>("name") { Description = "User name" };
        var mechanisms = MechanismOption("Remove only these mechanisms' credentials (default: all the user has)");
        var cmd = new Command("remove", "Remove a user's SCRAM credentials") { name, mechanisms };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            string user = p.GetValue(name)!;
            var given = p.GetValue(mechanisms);
            var targets = given is { Length: > 0 } ? Mechanisms(given, [])
                : [.. (await ScramAdmin.DescribeAsync(client, [user], ct)).Single().Credentials.Select(c => c.Mechanism)];
            foreach (var m in targets) await ScramAdmin.DeleteAsync(client, user, m, ct);
            if (!Json(p)) Console.WriteLine($"user {user} removed ({string.Join(", ", targets.Select(Scram.Name))})");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
