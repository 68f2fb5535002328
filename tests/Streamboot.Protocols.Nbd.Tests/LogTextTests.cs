using System.Text;
using Streamboot.Protocols.Nbd.Exports;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>Client text in log lines: cleaned, cut, and export names only as the provider lets them appear.</summary>
public sealed class LogTextTests
{
    [Theory]
    [InlineData("vdisk/pc1", "vdisk/pc1")]
    [InlineData("line\nforged: admin logged in", "line?forged: admin logged in")]
    [InlineData("\u001b[31mred\u001b[0m", "?[31mred?[0m")]
    [InlineData("tab\there\r", "tab?here?")]
    [InlineData("bidi \u202egnp.exe", "bidi ?gnp.exe")]
    [InlineData("zero\u200bwidth\u0085next", "zero?width?next")]
    [InlineData("", "")]
    public void Sanitize_replaces_control_and_invisible_characters(string text, string expected) =>
        Assert.Equal(expected, NbdLogText.Sanitize(text));

    [Fact]
    public void Sanitize_cuts_long_text_and_says_how_much_is_left_out()
    {
        var text = new string('a', 4000);
        var clean = NbdLogText.Sanitize(text);
        Assert.StartsWith(new string('a', NbdLogText.MaxLength), clean, StringComparison.Ordinal);
        Assert.EndsWith($"...({4000 - NbdLogText.MaxLength} more)", clean, StringComparison.Ordinal);
        // A surrogate pair across the cut is left out whole, never split in two.
        var emoji = new string('b', NbdLogText.MaxLength - 1) + "\U0001F600" + "tail";
        Assert.Equal(new string('b', NbdLogText.MaxLength - 1) + "...(6 more)", NbdLogText.Sanitize(emoji));
    }

    [Fact]
    public async Task Export_names_reach_the_log_only_through_the_providers_NameForLog_and_never_raw()
    {
        await using var server = NbdTestServer.Start(wrap: files => new KeyedNames(files));
        server.AddRaw("disk", 1024 * 1024);
        const string Secret = "s3cr3t-boot-key";
        var names = new[]
        {
            $"disk/pc1/{Secret}",                       // a device name with its key: refused by the provider
            $"nope/pc\n\u001b[2J{Secret}",              // control characters and the key
            $"disk/pc2\u202e/{Secret}",                 // a bidi override
        };
        await using (var client = await RawNbdClient.ConnectAsync(server.Port))
        {
            await client.HandshakeAsync();
            foreach (var name in names)
            {
                foreach (var option in new[] { NbdOption.Info, NbdOption.Go })
                {
                    await client.SendOptionAsync(option, RawNbdClient.InfoRequest(name));
                    Assert.NotEqual(NbdOptionReply.Ack, await client.ReadFinalReplyAsync());
                }
            }

            await client.SendOptionAsync(NbdOption.Go, RawNbdClient.InfoRequest("disk"));
            Assert.Equal(NbdOptionReply.Ack, await client.ReadFinalReplyAsync());
        }

        await using (var client = await RawNbdClient.ConnectAsync(server.Port))
        {
            // NBD_OPT_EXPORT_NAME has no error reply: the name is only in the log.
            await client.HandshakeAsync();
            await client.SendOptionAsync(NbdOption.ExportName, Encoding.UTF8.GetBytes(names[1]));
            Assert.True(await client.ClosedByServerAsync());
        }

        await NbdTestServer.WaitForAsync(() => server.Provider.EndedSessions.Count >= 1, "the session to end");
        var log = server.Log.All;
        Assert.DoesNotContain(Secret, log, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', log);
        Assert.DoesNotContain('\u202e', log);
        Assert.All(server.Log.Entries, e => Assert.DoesNotContain('\n', e.Message));
        Assert.Contains(server.Log.Messages(2014), m => m.Contains("disk/pc1/(key)", StringComparison.Ordinal));
    }

    /// <summary>The server's kind of names: VDISK/DEVICE/KEY, the key a per-boot secret that must never be logged.</summary>
    private sealed class KeyedNames(FileExportProvider files) : INbdExportProvider
    {
        public ValueTask<IReadOnlyList<NbdExportListing>> ListExportsAsync(NbdConnectionInfo connection, CancellationToken cancellationToken) =>
            files.ListExportsAsync(connection, cancellationToken);

        public async ValueTask<NbdOpenResult> OpenAsync(string name, NbdOpenPurpose purpose, NbdConnectionInfo connection, CancellationToken cancellationToken) =>
            name.Contains('/', StringComparison.Ordinal)
                ? NbdOpenResult.Failed(NbdOpenError.Unknown, "no such device session")
                : await files.OpenAsync(name, purpose, connection, cancellationToken);

        public string NameForLog(string exportName)
        {
            var parts = exportName.Split('/');
            return NbdLogText.Sanitize(parts.Length >= 3 ? $"{parts[0]}/{parts[1]}/(key)" : parts[0] + (parts.Length > 1 ? "/(...)" : ""));
        }
    }
}
