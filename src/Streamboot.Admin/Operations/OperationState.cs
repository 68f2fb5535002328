namespace Streamboot.Admin.Operations;

/// <summary>Where a long operation is.</summary>
public enum OperationState
{
    Running,
    Succeeded,
    Failed,
}
