// DescribeAcls (key 29), CreateAcls (key 30) and DeleteAcls (key 31), versions 0-3 (flexible from 2): the cluster's
// ACLs, with StandardAuthorizer's checks and messages. Without an authorizer they answer SECURITY_DISABLED.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class DescribeAclsHandler : ApiHandler<DescribeAclsRequest, DescribeAclsResponse>
{
    protected override IEnumerable<Requirement> Requires(DescribeAclsRequest request, short version) => [Requirement.Cluster(AclOperation.Describe)];

    protected override ValueTask<DescribeAclsResponse?> Handle(RequestContext ctx, DescribeAclsRequest req)
    {
        var authorizer = ctx.Broker.Authorizer;
        if (!authorizer.Enabled)
            return new(new DescribeAclsResponse { ErrorCode = ErrorCode.SecurityDisabled, ErrorMessage = "No Authorizer is configured on the broker" });
        var filter = new AclFilter(AclNames.Of<AclResourceType>(req.ResourceTypeFilter), req.ResourceNameFilter, AclNames.Of<AclPatternType>(req.PatternTypeFilter),
            req.PrincipalFilter, req.HostFilter, AclNames.Of<AclOperation>(req.Operation), AclNames.Of<AclPermissionType>(req.PermissionType));
        if (filter.Problem() != null)
            return new(new DescribeAclsResponse { ErrorCode = ErrorCode.InvalidRequest, ErrorMessage = "DescribeAclsRequest contains UNKNOWN elements" });
        var resp = new DescribeAclsResponse();
        foreach (var g in authorizer.Store.All.Where(filter.Matches).GroupBy(a => (a.ResourceType, a.Name, a.PatternType))
                     .OrderBy(g => g.Key.ResourceType).ThenBy(g => g.Key.Name, StringComparer.Ordinal).ThenBy(g => g.Key.PatternType))
        {
            var resource = new DescribeAclsResponse.DescribeAclsResource
            {
                ResourceType = (sbyte)g.Key.ResourceType, ResourceName = g.Key.Name, PatternType = (sbyte)g.Key.PatternType,
            };
            foreach (var a in g)
                resource.Acls.Add(new DescribeAclsResponse.AclDescription
                {
                    Principal = a.Principal, Host = a.Host, Operation = (sbyte)a.Operation, PermissionType = (sbyte)a.Permission,
                });
            resp.Resources.Add(resource);
        }
        return new(resp);
    }
}

public sealed class CreateAclsHandler : ApiHandler<CreateAclsRequest, CreateAclsResponse>
{
    protected override IEnumerable<Requirement> Requires(CreateAclsRequest request, short version) => [Requirement.Cluster(AclOperation.Alter)];

    protected override ValueTask<CreateAclsResponse?> Handle(RequestContext ctx, CreateAclsRequest req)
    {
        var authorizer = ctx.Broker.Authorizer;
        if (!authorizer.Enabled) return new(ErrorResponse(req, ErrorCode.SecurityDisabled, "No Authorizer is configured."));
        var resp = new CreateAclsResponse();
        var accepted = new List<AclBinding>();
        foreach (var c in req.Creations)
        {
            var b = new AclBinding(AclNames.Of<AclResourceType>(c.ResourceType), c.ResourceName, AclNames.Of<AclPatternType>(c.ResourcePatternType),
                c.Principal, c.Host, AclNames.Of<AclOperation>(c.Operation), AclNames.Of<AclPermissionType>(c.PermissionType));
            var problem = Authorizer.Invalid(b);
            resp.Results.Add(new CreateAclsResponse.AclCreationResult { ErrorCode = problem is null ? ErrorCode.None : ErrorCode.InvalidRequest, ErrorMessage = problem });
            if (problem is null) accepted.Add(b);
        }
        authorizer.Store.Add(accepted);
        return new(resp);
    }

    protected override CreateAclsResponse? ErrorResponse(CreateAclsRequest request, ErrorCode error) => ErrorResponse(request, error, null);

    private static CreateAclsResponse ErrorResponse(CreateAclsRequest request, ErrorCode error, string? message)
    {
        var resp = new CreateAclsResponse();
        foreach (var _ in request.Creations) resp.Results.Add(new CreateAclsResponse.AclCreationResult { ErrorCode = error, ErrorMessage = message });
        return resp;
    }
}

public sealed class DeleteAclsHandler : ApiHandler<DeleteAclsRequest, DeleteAclsResponse>
{
    protected override IEnumerable<Requirement> Requires(DeleteAclsRequest request, short version) => [Requirement.Cluster(AclOperation.Alter)];

    protected override ValueTask<DeleteAclsResponse?> Handle(RequestContext ctx, DeleteAclsRequest req)
    {
        var authorizer = ctx.Broker.Authorizer;
        if (!authorizer.Enabled) return new(ErrorResponse(req, ErrorCode.SecurityDisabled, "No Authorizer is configured."));
        var filters = req.Filters.Select(f => new AclFilter(AclNames.Of<AclResourceType>(f.ResourceTypeFilter), f.ResourceNameFilter,
            AclNames.Of<AclPatternType>(f.PatternTypeFilter), f.PrincipalFilter, f.HostFilter, AclNames.Of<AclOperation>(f.Operation),
            AclNames.Of<AclPermissionType>(f.PermissionType))).ToList();
        var removed = authorizer.Store.Remove([.. filters.Select(f => f.Problem() is null ? f : null)]);
        var resp = new DeleteAclsResponse();
        for (int i = 0; i < filters.Count; i++)
        {
            var result = new DeleteAclsResponse.DeleteAclsFilterResult();
            if (filters[i].Problem() is { } problem)
            {
                result.ErrorCode = ErrorCode.InvalidRequest;
                result.ErrorMessage = problem;
            }
            foreach (var a in removed[i])
                result.MatchingAcls.Add(new DeleteAclsResponse.DeleteAclsMatchingAcl
                {
                    ResourceType = (sbyte)a.ResourceType, ResourceName = a.Name, PatternType = (sbyte)a.PatternType, Principal = a.Principal,
                    Host = a.Host, Operation = (sbyte)a.Operation, PermissionType = (sbyte)a.Permission,
                });
            resp.FilterResults.Add(result);
        }
        return new(resp);
    }

    protected override DeleteAclsResponse? ErrorResponse(DeleteAclsRequest request, ErrorCode error) => ErrorResponse(request, error, null);

    private static DeleteAclsResponse ErrorResponse(DeleteAclsRequest request, ErrorCode error, string? message)
    {
        var resp = new DeleteAclsResponse();
        foreach (var _ in request.Filters) resp.FilterResults.Add(new DeleteAclsResponse.DeleteAclsFilterResult { ErrorCode = error, ErrorMessage = message });
        return resp;
    }
}
