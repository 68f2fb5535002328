namespace Streamboot.Api.Contracts.Operations;

/// <summary>The problem a failed operation ended with: the Admin layer's one line and the status a direct call would have had.</summary>
public sealed record ApiOperationProblem(int Status, string Title, string Detail);
