using Streamboot.Data.Model;

namespace Streamboot.Admin.Views;

public sealed record VDiskVersionView(int Number, VersionStage Stage, ImageFormat Format, string File, string? Description, DateTime CreatedAt);
