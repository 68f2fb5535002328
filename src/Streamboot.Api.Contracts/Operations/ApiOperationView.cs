using Streamboot.Admin.Operations;

namespace Streamboot.Api.Contracts.Operations;

/// <summary>
/// What <c>GET /api/v1/operations/{id}</c> answers: the state, bytes done of
/// the total (0 of 0 until the copy starts), and once finished the result
/// (the vDisk as <c>GET /api/v1/vdisks/{name}</c> shows it) or the problem.
/// A client reads <see cref="Result"/> as a <see cref="System.Text.Json.JsonElement"/>.
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
