using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// Updating a golden image the PVS way: a new version opens in maintenance;
/// the maintenance device boots it and writes into it, while production
/// devices go on booting the production version, unchanged; once promoted,
/// production devices boot the update at their next boot.
/// </summary>
public sealed class MaintenanceVersionBootTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_maintenance_device_writes_the_new_version_and_production_sees_it_only_after_promotion()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "gold");
        await site.Cli.OkAsync("vdisk", "version", "new", "gold");
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:70:01", "--name", "updater", "--type", "maintenance");
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:70:02", "--name", "worker");
        await site.Cli.OkAsync("assign", "updater", "gold");
        await site.Cli.OkAsync("assign", "worker", "gold");
        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();

        var updater = await site.StartVmAsync("52:54:00:5b:70:01");
        var worker = await site.StartVmAsync("52:54:00:5b:70:02");
        var upUpdater = await TestOs.WaitUpAsync(updater);
        var upWorker = await TestOs.WaitUpAsync(worker);
        output.WriteLine($"maintenance device up in {upUpdater.Seconds:F1} s, production device in {upWorker.Seconds:F1} s");

        // The maintenance device writes straight into version 2; the production one runs version 1 with its own cache.
        Assert.Equal("none", upUpdater["cache"]);
        Assert.Equal("server-disk", upWorker["cache"]);
        Assert.Equal(2, (await TestOs.LiveSessionAsync(site, "updater"))!.Value.GetProperty("version").GetInt32());
        Assert.Equal(1, (await TestOs.LiveSessionAsync(site, "worker"))!.Value.GetProperty("version").GetInt32());
        await updater.RunAsync("echo security-update > /root/update && sync");
        Assert.Equal("absent\n", await worker.RunAsync("cat /root/update 2>/dev/null || echo absent"));

        await updater.SendLineAsync("reboot");
        await updater.WaitForExitAsync(TimeSpan.FromMinutes(1));
        await worker.SendLineAsync("reboot");
        await worker.WaitForExitAsync(TimeSpan.FromMinutes(1));
        await site.Cli.OkAsync("vdisk", "version", "promote", "gold", "--to", "production");

        // The production device's next boot is the update.
        var updated = await site.StartVmAsync("52:54:00:5b:70:02");
        await TestOs.WaitUpAsync(updated);
        Assert.Equal(2, (await TestOs.LiveSessionAsync(site, "worker"))!.Value.GetProperty("version").GetInt32());
        Assert.Equal("security-update\n", await updated.RunAsync("cat /root/update"));
    }
}
