using Streamboot.Admin.Operations;

namespace Streamboot.Server.Api;

/// <summary>The problem a failed operation ended with: the Admin layer's one line and the status a direct call would have had.</summary>
public sealed record ApiOperationProblem(int Status, string Title, string Detail);

/// <summary>
/// What <c>GET /api/v1/operations/{id}</c> answers: the state, bytes done of
/// the total (0 of 0 until the copy starts), and once finished the result
/// (the vDisk as <c>GET /api/v1/vdisks/{name}</c> shows it) or the problem.
/// </summary>
public sealed record ApiOperationView(
    string Id,
    string Kind,
    string Target,
    string Actor,
    OperationState State,
    long DoneBytes,
    long TotalBytes,
    DateTime StartedAt,
    DateTime? FinishedAt,
    string? Resource,
    object? Result,
    ApiOperationProblem? Problem);
