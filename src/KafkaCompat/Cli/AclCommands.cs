using System.CommandLine;
using KafkaCompat.Client;
using KafkaCompat.Protocol;
using Spectre.Console;
using static KafkaCompat.Host.Cli.CliSupport;

namespace KafkaCompat.Host.Cli;

/// <summary><c>kafkacompat acl add|list|remove</c> (like kafka-acls.sh): who may do what on which topics, groups,
/// transactional ids and the cluster.</summary>
public static class AclCommands
{
    public static Command Build()
    {
        var acl = new Command("acl", "Add, list and remove ACLs (the broker needs authorizer.class.name)");
        acl.Options.Add(Bootstrap);
        acl.Options.Add(CommandConfig);
        acl.Options.Add(Output);
        acl.Subcommands.Add(Add());
        acl.Subcommands.Add(List());
        acl.Subcommands.Add(Remove());
        return acl;
    }

    /// <summary>The options naming resources, principals, hosts and operations, shared by the three commands.</summary>
    private sealed class Selectors
    {
        public readonly Option<string[]> Topic = new("--topic") { Description = "Topic name (* for all)", AllowMultipleArgumentsPerToken = true };
        public readonly Option<string[]> Group = new("--group") { Description = "Consumer group (* for all)", AllowMultipleArgumentsPerToken = true };
        public readonly Option<string[]> TransactionalId = new("--transactional-id") { Description = "Transactional id (* for all)", AllowMultipleArgumentsPerToken = true };
        public readonly Option<bool> Cluster = new("--cluster") { Description = "The cluster resource (kafka-cluster)" };
        public readonly Option<string> PatternType = new("--resource-pattern-type") { Description = "literal or prefixed (list and remove: also any, match)", DefaultValueFactory = _ => "literal" };
        public readonly Option<string[]> Allow = new("--allow-principal") { Description = "Principal allowed, e.g. User:alice (User:* for all)", AllowMultipleArgumentsPerToken = true };
        public readonly Option<string[]> Deny = new("--deny-principal") { Description = "Principal denied", AllowMultipleArgumentsPerToken = true };
        public readonly Option<string[]> Host = new("--host") { Description = "Client address the ACL applies to (default: * for any)", AllowMultipleArgumentsPerToken = true };
        public readonly Option<string[]> Operation = new("--operation") { Description = "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All", AllowMultipleArgumentsPerToken = true };

        public void AddTo(Command c)
        {
            foreach (Option o in new Option[] { Topic, Group, TransactionalId, Cluster, PatternType, Allow, Deny, Host, Operation }) c.Options.Add(o);
        }

        public List<(AclResourceType Type, string Name)> Resources(ParseResult p)
        {
            var list = new List<(AclResourceType, string)>();
            list.AddRange((p.GetValue(Topic) ?? []).Select(t => (AclResourceType.Topic, t)));
            list.AddRange((p.GetValue(Group) ?? []).Select(g => (AclResourceType.Group, g)));
            list.AddRange((p.GetValue(TransactionalId) ?? []).Select(t => (AclResourceType.TransactionalId, t)));
            if (p.GetValue(Cluster)) list.Add((AclResourceType.Cluster, "kafka-cluster"));
            return list;
        }

        public AclPatternType Pattern(ParseResult p) => AclNames.Parse<AclPatternType>(p.GetValue(PatternType)!) is { } t and not AclPatternType.Unknown
            ? t : throw new UsageException($"--resource-pattern-type: {p.GetValue(PatternType)} is not literal, prefixed, any or match");

        public List<AclOperation> Operations(ParseResult p, AclOperation fallback) =>
            p.GetValue(Operation) is { Length: > 0 } ops
                ? [.. ops.Select(o => AclNames.Parse<AclOperation>(o) is { } op and not AclOperation.Unknown ? op : throw new UsageException($"--operation: unknown operation {o}"))]
                : [fallback];

        public List<(string Principal, AclPermissionType Permission)> Principals(ParseResult p) =>
        [
            .. (p.GetValue(Allow) ?? []).Select(a => (a, AclPermissionType.Allow)),
            .. (p.GetValue(Deny) ?? []).Select(d => (d, AclPermissionType.Deny)),
        ];

        public List<string> Hosts(ParseResult p, string fallback) => p.GetValue(Host) is { Length: > 0 } hosts ? [.. hosts] : [fallback];
    }

    private static Command Add()
    {
        var s = new Selectors();
        var cmd = new Command("add", "Allow or deny principals operations on resources: one ACL per resource, principal, host and operation");
        s.AddTo(cmd);
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            var resources = s.Resources(p);
            var principals = s.Principals(p);
            if (resources.Count == 0) throw new UsageException("name a resource: --topic, --group, --transactional-id or --cluster");
            if (principals.Count == 0) throw new UsageException("name a principal: --allow-principal or --deny-principal");
            if (p.GetValue(s.Operation) is not { Length: > 0 }) throw new UsageException("name an operation: --operation Read (or All)");
            var pattern = s.Pattern(p);
            var acls = (from r in resources from who in principals from host in s.Hosts(p, "*") from op in s.Operations(p, AclOperation.All)
                        select new AclBinding(r.Type, r.Name, pattern, who.Principal, host, op, who.Permission)).ToList();
            await AclAdmin.CreateAsync(client, acls, ct);
            if (!Json(p)) foreach (var a in acls) Console.WriteLine($"added {a}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>The filters of list and remove: each named resource (or any), each principal (or any), each operation
    /// (or any).</summary>
    private static List<AclFilter> Filters(Selectors s, ParseResult p, AclPatternType defaultPattern)
    {
        var resources = s.Resources(p).Select(r => ((AclResourceType, string?))r).DefaultIfEmpty((AclResourceType.Any, null)).ToList();
        var pattern = p.GetResult(s.PatternType) is { Implicit: false } ? s.Pattern(p) : defaultPattern;
        var principals = s.Principals(p).Select(x => ((string?)x.Principal, x.Permission)).DefaultIfEmpty((null, AclPermissionType.Any)).ToList();
        var hosts = p.GetValue(s.Host) is { Length: > 0 } given ? given.Select(h => (string?)h).ToList() : [null];
        return [.. from r in resources from who in principals from host in hosts from op in s.Operations(p, AclOperation.Any)
                   select new AclFilter(r.Item1, r.Item2, pattern, who.Item1, host, op, who.Permission)];
    }

    private static Command List()
    {
        var s = new Selectors();
        var cmd = new Command("list", "List ACLs (all, or those of the resources, principals and operations named)");
        s.AddTo(cmd);
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            var acls = new List<AclBinding>();
            foreach (var f in Filters(s, p, AclPatternType.Any)) acls.AddRange(await AclAdmin.DescribeAsync(client, f, ct));
            acls = [.. acls.Distinct().OrderBy(a => a.ResourceType).ThenBy(a => a.Name, StringComparer.Ordinal).ThenBy(a => a.Principal, StringComparer.Ordinal)];
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartArray();
                foreach (var a in acls)
                {
                    w.WriteStartObject();
                    w.WriteString("resourceType", AclNames.Name(a.ResourceType));
                    w.WriteString("name", a.Name);
                    w.WriteString("patternType", AclNames.Name(a.PatternType));
                    w.WriteString("principal", a.Principal);
                    w.WriteString("host", a.Host);
                    w.WriteString("operation", AclNames.Name(a.Operation));
                    w.WriteString("permission", AclNames.Name(a.Permission));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            else
            {
                var table = NewTable("Resource", "Name", "Pattern", "Principal", "Host", "Operation", "Permission");
                foreach (var a in acls)
                    AddRow(table, AclNames.Name(a.ResourceType), a.Name, AclNames.Name(a.PatternType), a.Principal, a.Host, AclNames.Name(a.Operation), AclNames.Name(a.Permission));
                AnsiConsole.Write(table);
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Remove()
    {
        var s = new Selectors();
        var cmd = new Command("remove", "Remove the ACLs of the resources named (with the principals, hosts and operations named, else all of them)");
        s.AddTo(cmd);
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            if (s.Resources(p).Count == 0) throw new UsageException("name a resource: --topic, --group, --transactional-id or --cluster");
            var removed = new List<AclBinding>();
            foreach (var f in Filters(s, p, AclPatternType.Literal)) removed.AddRange(await AclAdmin.DeleteAsync(client, f, ct));
            if (!Json(p))
            {
                foreach (var a in removed) Console.WriteLine($"removed {a}");
                if (removed.Count == 0) Console.WriteLine("no ACL matched");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
