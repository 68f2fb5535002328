namespace Streamboot.Admin.Views;

public sealed record AuditView(long Id, DateTime At, string Actor, string Action, string Target, string? Details);
