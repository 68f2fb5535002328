using System.Text.Json;

namespace Streamboot.Protocols.Nbd.Tests;

public sealed class NbdInfoTests
{
    [Fact]
    public async Task Nbdinfo_sees_size_flags_block_sizes_and_description()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("disk", 8 * 1024 * 1024, description: "a test disk");
        var json = await Peers.NbdInfoAsync("--json", server.Url("disk"));
        using var document = JsonDocument.Parse(json);
        var export = document.RootElement.GetProperty("exports")[0];
        Assert.Equal(8 * 1024 * 1024, export.GetProperty("export-size").GetInt64());
        Assert.Equal("a test disk", export.GetProperty("description").GetString());
        Assert.False(export.GetProperty("is_read_only").GetBoolean());
        Assert.True(export.GetProperty("can_flush").GetBoolean());
        Assert.True(export.GetProperty("can_fua").GetBoolean());
        Assert.True(export.GetProperty("can_trim").GetBoolean());
        Assert.True(export.GetProperty("can_zero").GetBoolean());
        Assert.True(export.GetProperty("can_fast_zero").GetBoolean());
        Assert.True(export.GetProperty("can_cache").GetBoolean());
        Assert.True(export.GetProperty("can_df").GetBoolean());
        Assert.True(export.GetProperty("can_multi_conn").GetBoolean());
        Assert.Equal(33554432, export.GetProperty("block_size_maximum").GetInt64());
        Assert.Equal("base:allocation", export.GetProperty("contexts")[0].GetString());
    }
}
