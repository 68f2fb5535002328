using Microsoft.Extensions.Configuration;
using Streamboot.Server.Configuration;
using Streamboot.Sessions;

namespace Streamboot.Server.Tests.Sessions;

/// <summary>The session layer's rules as an admin sets them (flags, STREAMBOOT_* variables, appsettings.json), and their defaults.</summary>
public sealed class SessionSettingsTests
{
    [Fact]
    public void Keys_are_required_by_default_and_boot_scripts_go_only_to_leased_addresses_with_full_dhcp()
    {
        var defaults = StreambootServer.SessionSettingsOf(new StreambootOptions());
        Assert.True(defaults.RequireBootKey);
        Assert.False(defaults.ScriptsOnlyToLeasedAddress);
        Assert.Equal(new SessionSettings().TakeoverGuard, defaults.TakeoverGuard);
        Assert.Equal(256L << 20, defaults.ReadCacheBytes);

        Assert.True(StreambootServer.SessionSettingsOf(new StreambootOptions { Dhcp = "full" }).ScriptsOnlyToLeasedAddress);
        Assert.True(StreambootServer.SessionSettingsOf(new StreambootOptions { Dhcp = " FULL " }).ScriptsOnlyToLeasedAddress);
        Assert.False(StreambootServer.SessionSettingsOf(new StreambootOptions { Dhcp = "proxy" }).ScriptsOnlyToLeasedAddress);
        Assert.False(StreambootServer.SessionSettingsOf(new StreambootOptions { Dhcp = "full", BootScriptsToLeasedAddressOnly = false }).ScriptsOnlyToLeasedAddress);
        Assert.True(StreambootServer.SessionSettingsOf(new StreambootOptions { Dhcp = "off", BootScriptsToLeasedAddressOnly = true }).ScriptsOnlyToLeasedAddress);
    }

    [Fact]
    public void The_settings_are_read_from_configuration_as_every_other_option()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Streamboot:BootKeys"] = "false",
            ["Streamboot:BootScriptsToLeasedAddressOnly"] = "true",
            ["Streamboot:BootTakeoverGuardSeconds"] = "30",
            ["Streamboot:ReadCacheMiB"] = "64",
        }).Build();
        var settings = StreambootServer.SessionSettingsOf(StreambootConfiguration.Bind(configuration));
        Assert.False(settings.RequireBootKey);
        Assert.True(settings.ScriptsOnlyToLeasedAddress);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.TakeoverGuard);
        Assert.Equal(64L << 20, settings.ReadCacheBytes);
    }
}
