using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Client;

/// <summary>ACLs over CreateAcls, DescribeAcls and DeleteAcls, as kafka-acls does it.</summary>
public static class AclAdmin
{
    public static async Task CreateAsync(KafkaClient client, IReadOnlyList<AclBinding> acls, CancellationToken ct)
    {
        var conn = await client.AdminAsync(ct).ConfigureAwait(false);
        var resp = await conn.SendAsync<CreateAclsRequest, CreateAclsResponse>(new CreateAclsRequest
        {
            Creations = [.. acls.Select(a => new CreateAclsRequest.AclCreation
            {
                ResourceType = (sbyte)a.ResourceType, ResourceName = a.Name, ResourcePatternType = (sbyte)a.PatternType, Principal = a.Principal,
                Host = a.Host, Operation = (sbyte)a.Operation, PermissionType = (sbyte)a.Permission,
            })],
        }, ct: ct).ConfigureAwait(false);
        for (int i = 0; i < resp.Results.Count; i++)
            if (resp.Results[i].ErrorCode != ErrorCode.None)
                throw new KafkaErrorException(resp.Results[i].ErrorCode, $"{acls[i]}: {resp.Results[i].ErrorMessage}");
    }

    public static async Task<List<AclBinding>> DescribeAsync(KafkaClient client, AclFilter filter, CancellationToken ct)
    {
        var conn = await client.AdminAsync(ct).ConfigureAwait(false);
        var resp = await conn.SendAsync<DescribeAclsRequest, DescribeAclsResponse>(new DescribeAclsRequest
        {
            ResourceTypeFilter = (sbyte)filter.ResourceType, ResourceNameFilter = filter.Name, PatternTypeFilter = (sbyte)filter.PatternType,
            PrincipalFilter = filter.Principal, HostFilter = filter.Host, Operation = (sbyte)filter.Operation, PermissionType = (sbyte)filter.Permission,
        }, ct: ct).ConfigureAwait(false);
        if (resp.ErrorCode != ErrorCode.None) throw new KafkaErrorException(resp.ErrorCode, resp.ErrorMessage ?? "describing ACLs");
        return [.. resp.Resources.SelectMany(r => r.Acls.Select(a => new AclBinding(AclNames.Of<AclResourceType>(r.ResourceType), r.ResourceName,
            AclNames.Of<AclPatternType>(r.PatternType), a.Principal, a.Host, AclNames.Of<AclOperation>(a.Operation), AclNames.Of<AclPermissionType>(a.PermissionType))))];
    }

    /// <summary>Deletes what the filter matches; the ACLs deleted.</summary>
    public static async Task<List<AclBinding>> DeleteAsync(KafkaClient client, AclFilter filter, CancellationToken ct)
    {
        var conn = await client.AdminAsync(ct).ConfigureAwait(false);
        var resp = await conn.SendAsync<DeleteAclsRequest, DeleteAclsResponse>(new DeleteAclsRequest
        {
            Filters =
            [
                new DeleteAclsRequest.DeleteAclsFilter
                {
                    ResourceTypeFilter = (sbyte)filter.ResourceType, ResourceNameFilter = filter.Name, PatternTypeFilter = (sbyte)filter.PatternType,
                    PrincipalFilter = filter.Principal, HostFilter = filter.Host, Operation = (sbyte)filter.Operation, PermissionType = (sbyte)filter.Permission,
                },
            ],
        }, ct: ct).ConfigureAwait(false);
        var result = resp.FilterResults.Single();
        if (result.ErrorCode != ErrorCode.None) throw new KafkaErrorException(result.ErrorCode, result.ErrorMessage ?? "deleting ACLs");
        return [.. result.MatchingAcls.Select(a => new AclBinding(AclNames.Of<AclResourceType>(a.ResourceType), a.ResourceName,
            AclNames.Of<AclPatternType>(a.PatternType), a.Principal, a.Host, AclNames.Of<AclOperation>(a.Operation), AclNames.Of<AclPermissionType>(a.PermissionType)))];
    }
}
