using Streamboot.Server.Configuration;
using Streamboot.Server.Iscsi;

namespace Streamboot.Server.Tests.Iscsi;

/// <summary>Target names to views and back, CHAP secrets from boot keys, and the iSCSI settings' checks.</summary>
public sealed class IscsiNamesTests
{
    private const string Base = IscsiNames.DefaultBaseName;

    [Theory]
    [InlineData("iqn.2026-01.org.streamboot:gold", "gold", null)]
    [InlineData("IQN.2026-01.ORG.STREAMBOOT:Win.11:LAB-001", "Win.11", "LAB-001")]
    [InlineData("iqn.2026-01.org.streamboot:my_disk-2:pc1", "my_disk-2", "pc1")]
    public void Target_names_name_views(string target, string vdisk, string? device)
    {
        Assert.True(IscsiNames.TryParse(Base, target, out var parsedVDisk, out var parsedDevice));
        Assert.Equal((vdisk, device), (parsedVDisk, parsedDevice));
    }

    [Theory]
    [InlineData("iqn.2026-01.org.other:gold")]
    [InlineData("iqn.2026-01.org.streamboot:")]
    [InlineData("iqn.2026-01.org.streamboot:a:b:c")]
    [InlineData("iqn.2026-01.org.streamboot:a::")]
    [InlineData(null)]
    public void Other_names_are_no_target(string? target) =>
        Assert.False(IscsiNames.TryParse(Base, target, out _, out _));

    [Fact]
    public void Names_are_written_in_lower_case_and_read_back()
    {
        var name = IscsiNames.ForDevice(Base, "Win.11", "LAB-001");
        Assert.Equal("iqn.2026-01.org.streamboot:win.11:lab-001", name);
        Assert.True(IscsiNames.TryParse(Base, name, out var vdisk, out var device));
        Assert.Equal(("win.11", "lab-001"), (vdisk, device));
        Assert.True(IscsiNames.IsValidBaseName(Base));
        Assert.False(IscsiNames.IsValidBaseName("iqn.2026-01.Org:x"));
        Assert.False(IscsiNames.IsValidBaseName("eui.0123456789abcdef"));
    }

    [Fact]
    public void Chap_secrets_fit_microsofts_initiator_and_differ_per_direction_and_boot()
    {
        var key = "0123456789abcdef0123456789abcdef";
        var initiator = IscsiChapSecrets.Initiator(key);
        var target = IscsiChapSecrets.Target(key);
        Assert.Matches("^[A-Za-z0-9]{16}$", initiator);
        Assert.Matches("^[A-Za-z0-9]{16}$", target);
        Assert.NotEqual(initiator, target);
        Assert.Equal(initiator, IscsiChapSecrets.Initiator(key));
        Assert.NotEqual(initiator, IscsiChapSecrets.Initiator("f123456789abcdef0123456789abcdef"));
    }

    [Theory]
    [InlineData("IscsiPort", "70000", "out of range")]
    [InlineData("IscsiBaseName", "not-an-iqn", "not an iSCSI base name")]
    [InlineData("IscsiFirstBurstLength", "4194304", "IscsiFirstBurstLength")]
    [InlineData("IscsiCommandWindow", "0", "IscsiCommandWindow")]
    [InlineData("IscsiNopTimeoutSeconds", "0", "STREAMBOOT_ISCSI_NOP_TIMEOUT_SECONDS")]
    public void Settings_out_of_range_are_named(string setting, string value, string expected)
    {
        var options = new StreambootOptions();
        var property = typeof(StreambootOptions).GetProperty(setting)!;
        property.SetValue(options, property.PropertyType == typeof(int) ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : value);
        Assert.False(IscsiSettings.TryCreate(options, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.True(IscsiSettings.TryCreate(new StreambootOptions(), out var defaults, out _));
        defaults!.Validate();
    }
}
