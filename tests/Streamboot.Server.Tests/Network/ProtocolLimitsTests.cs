using Streamboot.Protocols.Dhcp;
using Streamboot.Protocols.Tftp;
using Streamboot.Server.Configuration;
using Streamboot.Server.Network;

namespace Streamboot.Server.Tests.Network;

/// <summary>The TFTP and DHCP limits as an admin sets them (appsettings.json, STREAMBOOT_* variables) reach the protocol servers.</summary>
public sealed class ProtocolLimitsTests
{
    [Fact]
    public void The_defaults_are_the_protocol_servers_own()
    {
        Assert.True(TftpSettings.TryCreate(new StreambootOptions(), out var tftp, out var error), error);
        var own = new TftpServerOptions();
        Assert.Equal(own.MaxTransfers, tftp!.MaxTransfers);
        Assert.Equal(own.MaxTransfersPerClient, tftp.MaxTransfersPerClient);
        Assert.Equal(own.MaxTimeoutOption, tftp.MaxTimeoutOption);
        Assert.Equal(own.MaxRetryTime, tftp.MaxRetryTime);
        Assert.Equal(own.RefusalLogLinesPerMinute, tftp.RefusalLogLinesPerMinute);

        Assert.True(DhcpSettings.TryCreate(new StreambootOptions { Dhcp = "proxy", DhcpInterface = "lo" }, out var dhcp, out error), error);
        var dhcpOwn = new DhcpServerOptions { InterfaceName = "lo" };
        Assert.Equal(dhcpOwn.MaxDatagramSize, dhcp!.MaxDatagramSize);
        Assert.Equal(dhcpOwn.RefusalLogLinesPerMinute, dhcp.RefusalLogLinesPerMinute);
    }

    [Fact]
    public void Environment_variables_set_every_limit()
    {
        var variables = new Dictionary<string, string>
        {
            ["STREAMBOOT_TFTP_MAX_TRANSFERS"] = "300",
            ["STREAMBOOT_TFTP_MAX_TRANSFERS_PER_CLIENT"] = "4",
            ["STREAMBOOT_TFTP_MAX_TIMEOUT_SECONDS"] = "5",
            ["STREAMBOOT_TFTP_MAX_RETRY_SECONDS"] = "12",
            ["STREAMBOOT_DHCP_MAX_DATAGRAM_BYTES"] = "1500",
            ["STREAMBOOT_REFUSAL_LOG_LINES_PER_MINUTE"] = "7",
        };
        StreambootOptions options;
        try
        {
            foreach (var (name, value) in variables)
            {
                Environment.SetEnvironmentVariable(name, value);
            }

            options = StreambootConfiguration.Bind(StreambootConfiguration.Build(new Dictionary<string, string?>(), systemConfigFile: null));
        }
        finally
        {
            foreach (var name in variables.Keys)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }

        Assert.True(TftpSettings.TryCreate(options, out var tftp, out var error), error);
        Assert.Equal(300, tftp!.MaxTransfers);
        Assert.Equal(4, tftp.MaxTransfersPerClient);
        Assert.Equal(TimeSpan.FromSeconds(5), tftp.MaxTimeoutOption);
        Assert.Equal(TimeSpan.FromSeconds(12), tftp.MaxRetryTime);
        Assert.Equal(7, tftp.RefusalLogLinesPerMinute);

        options.Dhcp = "proxy";
        options.DhcpInterface = "lo";
        Assert.True(DhcpSettings.TryCreate(options, out var dhcp, out error), error);
        Assert.Equal(1500, dhcp!.MaxDatagramSize);
        Assert.Equal(7, dhcp.RefusalLogLinesPerMinute);
    }

    [Theory]
    [InlineData(nameof(StreambootOptions.TftpMaxTransfers), 0, "STREAMBOOT_TFTP_MAX_TRANSFERS")]
    [InlineData(nameof(StreambootOptions.TftpMaxTransfersPerClient), 0, "STREAMBOOT_TFTP_MAX_TRANSFERS_PER_CLIENT")]
    [InlineData(nameof(StreambootOptions.TftpMaxTimeoutSeconds), 256, "STREAMBOOT_TFTP_MAX_TIMEOUT_SECONDS")]
    [InlineData(nameof(StreambootOptions.TftpMaxRetrySeconds), 0, "STREAMBOOT_TFTP_MAX_RETRY_SECONDS")]
    [InlineData(nameof(StreambootOptions.RefusalLogLinesPerMinute), 0, "STREAMBOOT_REFUSAL_LOG_LINES_PER_MINUTE")]
    public void A_tftp_limit_out_of_range_is_one_message_naming_the_setting(string setting, int value, string variable)
    {
        var options = new StreambootOptions();
        typeof(StreambootOptions).GetProperty(setting)!.SetValue(options, value);
        Assert.False(TftpSettings.TryCreate(options, out var tftp, out var error));
        Assert.Null(tftp);
        Assert.Contains($"{setting} {value} is out of range", error, StringComparison.Ordinal);
        Assert.Contains(variable, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(575)]
    [InlineData(65536)]
    public void A_dhcp_datagram_limit_out_of_range_is_refused(int bytes)
    {
        var options = new StreambootOptions { Dhcp = "proxy", DhcpInterface = "lo", DhcpMaxDatagramBytes = bytes };
        Assert.False(DhcpSettings.TryCreate(options, out _, out var error));
        Assert.Contains($"DhcpMaxDatagramBytes {bytes} is out of range", error, StringComparison.Ordinal);
    }
}
