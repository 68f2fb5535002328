using Streamboot.Admin.Operations;
using Streamboot.Admin.Views;

namespace Streamboot.WebConsole;

/// <summary>How the console words a long operation: what it is doing, and what it did.</summary>
public static class OperationText
{
    public static string Doing(SiteOperation operation) => operation.Kind switch
    {
        "vdisk.import" => $"Importing {operation.Target}",
        "vdisk.version.merge" => $"Merging {operation.Target}",
        "vm.capture" => $"Capturing into {operation.Target}",
        _ => $"{operation.Kind} of {operation.Target}",
    };

    /// <summary>What it is (or was), for a list of operations.</summary>
    public static string What(SiteOperation operation) => operation.Kind switch
    {
        "vdisk.import" => $"Import of {operation.Target}",
        "vdisk.version.merge" => $"Merge of {operation.Target}",
        "vm.capture" => $"Capture into {operation.Target}",
        _ => $"{operation.Kind} of {operation.Target}",
    };

    public static string Done(SiteOperation operation)
    {
        var newest = operation.Result is VDiskView v && v.Versions.Count > 0 ? v.Versions.MaxBy(x => x.Number) : null;
        return operation.Kind switch
        {
            "vdisk.import" when operation.Result is VDiskView vdisk => $"Imported {vdisk.Name}: a {ConsoleText.Bytes(vdisk.SizeBytes)} {ConsoleText.Name(vdisk.Format)} disk, version {newest?.Number} in {(newest is null ? "" : ConsoleText.Name(newest.Stage))}.",
            "vdisk.version.merge" when newest is not null => $"Merged into version {newest.Number}.",
            "vm.capture" when newest is not null => $"Captured into vDisk {operation.Target}, version {newest.Number} ({ConsoleText.Name(newest.Stage)}).",
            _ => $"{Doing(operation)}: done.",
        };
    }

    public static string Failed(SiteOperation operation) => $"{Doing(operation)} failed: {operation.Error?.Message}";
}
