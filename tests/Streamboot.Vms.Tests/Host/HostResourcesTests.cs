using Streamboot.Testing;
using Streamboot.Vms.Host;

namespace Streamboot.Vms.Tests.Host;

public sealed class HostResourcesTests
{
    [Fact]
    public async Task Memory_and_cpus_agree_with_free_and_nproc()
    {
        var free = await ProcessRunner.RunAsync("free", ["-b"]);
        var total = long.Parse(free.Stdout.Split('\n')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(total, HostResources.MemoryBytes);
        Assert.InRange(HostResources.AvailableMemoryBytes!.Value, 1, total);
        var nproc = await ProcessRunner.RunAsync("nproc", []);
        Assert.Equal(int.Parse(nproc.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture), HostResources.LogicalCpus);
    }
}
