namespace Streamboot.Api.Contracts.Operations;

/// <summary>Where a long operation of the admin API is.</summary>
public enum ApiOperationState
{
    Running,
    Succeeded,
    Failed,
}
