using Streamboot.Protocols.Tftp.Files;

namespace Streamboot.Protocols.Tftp.Tests;

/// <summary>tftp-hpa's, atftp's and curl's TFTP clients against the server, the way boot files are fetched.</summary>
public sealed class PeerTests
{
    private const int MiB = 1024 * 1024;

    public static TheoryData<string, string> ClientsAndIpxeFiles()
    {
        var data = new TheoryData<string, string>();
        foreach (var client in new[] { "tftp-hpa", "atftp", "curl", "curl-blksize" })
        {
            foreach (var file in new[] { "undionly.kpxe", "ipxe.efi", "snponly.efi" })
            {
                data.Add(client, file);
            }
        }

        return data;
    }

    [Fact]
    public void The_client_tools_and_ipxe_binaries_are_installed()
    {
        // Fails (never skips) with the package to install.
        foreach (var (tool, package) in Peers.Tools)
        {
            Assert.True(File.Exists(Peers.Path(tool, package)));
        }

        Assert.True(File.Exists(Peers.IpxeFile("undionly.kpxe")));
    }

    [Theory]
    [MemberData(nameof(ClientsAndIpxeFiles))]
    public async Task Real_clients_fetch_the_ipxe_binaries_byte_for_byte(string client, string file)
    {
        await using var server = TftpTestServer.Start(ipxe: true);
        var original = Peers.IpxeFile(file);
        var local = server.Download(file);
        await Peers.FetchAsync(client, server.Port, file, local);
        Assert.Equal(Peers.Sha256(original), Peers.Sha256(local));
        await server.WaitIdleAsync();
        Assert.Equal(1, server.Server.Statistics.TransfersCompleted);
    }

    [Theory]
    [InlineData("tftp-hpa")]
    [InlineData("atftp-window")]
    [InlineData("curl")]
    public async Task A_file_of_more_than_65535_blocks_wraps_the_block_number(string client)
    {
        await using var server = TftpTestServer.Start();
        // 512-byte blocks: 65536 blocks are 32 MiB; this is 67,598 blocks and an odd tail.
        var original = server.AddRandom("big.bin", (33 * MiB) + 12345);
        var local = server.Download("big.bin");
        if (client == "atftp-window")
        {
            await CheckAtftpAsync(server.Port, "big.bin", local, "blksize 512", "windowsize 16");
        }
        else
        {
            await Peers.FetchAsync(client, server.Port, "big.bin", local);
        }

        Assert.Equal(Peers.Sha256(original), Peers.Sha256(local));
    }

    [Fact]
    public async Task Atftp_gets_blksize_windowsize_and_tsize_acknowledged()
    {
        await using var server = TftpTestServer.Start();
        var original = server.AddRandom("mid.bin", (3 * MiB) + 7);
        var local = server.Download("mid.bin");
        var result = await CheckAtftpAsync(server.Port, "mid.bin", local, "blksize 1428", "windowsize 16", "tsize 0", "timeout 3");
        Assert.Equal(Peers.Sha256(original), Peers.Sha256(local));

        // Its --verbose output is not needed: the raw tests read the OACK itself.
        Assert.DoesNotContain("error", result.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Tftp_hpa_in_netascii_mode_gets_the_text_back_as_it_was()
    {
        await using var server = TftpTestServer.Start();

        // Lines of every length, bare CRs among them, so CR LF and CR NUL pairs fall across block edges.
        var random = new Random(5);
        var text = new List<byte>();
        while (text.Count < 40_000)
        {
            var line = random.Next(0, 700);
            for (var i = 0; i < line; i++)
            {
                text.Add((byte)random.Next(0x20, 0x7f));
            }

            text.Add(random.Next(10) == 0 ? (byte)'\r' : (byte)'\n');
        }

        var original = server.AddBytes("text.txt", [.. text]);
        var local = server.Download("text.txt");
        await Peers.FetchAsync("tftp-hpa-ascii", server.Port, "text.txt", local);
        Assert.Equal(File.ReadAllBytes(original), File.ReadAllBytes(local));
    }

    [Fact]
    public async Task Many_clients_at_once_all_get_their_files()
    {
        // tftp-hpa and atftp cannot choose their source address, so all 48 come
        // from 127.0.0.1: one address gets the room of 48 machines here.
        await using var server = TftpTestServer.Start(new TftpServerOptions { MaxTransfersPerClient = 48 }, ipxe: true);
        var random = server.AddRandom("random.bin", (2 * MiB) + 3);
        var jobs = new List<Task>();
        var clients = new[] { "tftp-hpa", "atftp", "curl", "curl-blksize" };
        var files = new[] { ("undionly.kpxe", Peers.IpxeFile("undionly.kpxe")), ("ipxe.efi", Peers.IpxeFile("ipxe.efi")), ("random.bin", random) };
        for (var i = 0; i < 48; i++)
        {
            var client = clients[i % clients.Length];
            var (name, original) = files[i % files.Length];
            var local = server.Download($"{i}-{name}");
            jobs.Add(Task.Run(async () =>
            {
                await Peers.FetchAsync(client, server.Port, name, local);
                Assert.True(Peers.Sha256(original) == Peers.Sha256(local), $"{client} got a different {name}");
            }));
        }

        await Task.WhenAll(jobs);
        await server.WaitIdleAsync();
        var statistics = server.Server.Statistics;
        Assert.Equal(48, statistics.TransfersCompleted);
        Assert.Equal(0, statistics.TransfersFailed);
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("/../../etc/passwd")]
    [InlineData("..\\..\\etc\\passwd")]
    [InlineData("sub/../../../etc/passwd")]
    [InlineData("link-to-passwd")]
    [InlineData("link-to-etc/passwd")]
    public async Task Names_that_leave_the_root_are_refused_with_access_violation(string name)
    {
        await using var server = TftpTestServer.Start();
        File.CreateSymbolicLink(Path.Combine(server.Root, "link-to-passwd"), "/etc/passwd");
        Directory.CreateSymbolicLink(Path.Combine(server.Root, "link-to-etc"), "/etc");
        Directory.CreateDirectory(Path.Combine(server.Root, "sub"));

        var hpa = await Peers.TftpHpaAsync(server.Port, name, server.Download("hpa"));
        Assert.Contains("Error code 2", hpa.Stdout + hpa.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(server.Download("hpa")) && new FileInfo(server.Download("hpa")).Length > 0, "tftp-hpa got bytes");

        if (!name.Contains('\\', StringComparison.Ordinal))
        {
            // curl's CURLE_TFTP_PERM.
            var curl = await Peers.CurlAsync(server.Port, name, server.Download("curl"));
            Assert.True(curl.ExitCode == 69, curl.ToString());
        }

        await server.WaitIdleAsync();
        Assert.True(server.Log.Has(4022, "127.0.0.1"), server.Log.ToString());
    }

    [Fact]
    public async Task A_missing_file_is_error_1_for_every_client()
    {
        await using var server = TftpTestServer.Start();
        var hpa = await Peers.TftpHpaAsync(server.Port, "nothere.efi", server.Download("hpa"));
        Assert.Contains("Error code 1", hpa.Stdout + hpa.Stderr, StringComparison.Ordinal);

        var curl = await Peers.CurlAsync(server.Port, "nothere.efi", server.Download("curl"));
        Assert.True(curl.ExitCode == 68, curl.ToString()); // CURLE_TFTP_NOTFOUND

        var atftp = await Peers.AtftpAsync(server.Port, "nothere.efi", server.Download("atftp"));
        Assert.NotEqual(0, atftp.ExitCode);
        Assert.Contains("File not found", atftp.Stdout + atftp.Stderr, StringComparison.Ordinal);
        await server.WaitIdleAsync();
        Assert.Equal(3, server.Server.Statistics.RequestsRefused);
    }

    [Theory]
    [InlineData("/boot/undi.kpxe")]
    [InlineData("\\boot\\undi.kpxe")]
    [InlineData("boot\\undi.kpxe")]
    [InlineData("//boot/./undi.kpxe")]
    public async Task Root_relative_and_backslash_names_are_served_from_the_root(string name)
    {
        await using var server = TftpTestServer.Start();
        var original = server.AddRandom("boot/undi.kpxe", 70_000);
        var local = server.Download("undi");
        var result = await Peers.TftpHpaAsync(server.Port, name, local);
        Assert.True(File.Exists(local), result.ToString());
        Assert.Equal(Peers.Sha256(original), Peers.Sha256(local));
    }

    [Fact]
    public async Task A_packaged_link_out_of_an_untrusted_root_is_refused()
    {
        // Debian's /usr/lib/ipxe/ipxe.efi links to /boot/ipxe.efi: served only when the root allows links outside.
        Assert.NotNull(new FileInfo(Peers.IpxeFile("ipxe.efi")).LinkTarget);
        var source = new TftpFolderSource(Peers.IpxeFolder);
        await using var server = new TftpServer(source);
        server.Start(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        using var folder = new Streamboot.Testing.TempFolder("streamboot-tftp");
        var hpa = await Peers.TftpHpaAsync(server.LocalEndPoint!.Port, "ipxe.efi", folder.Combine("x"));
        Assert.Contains("Error code 2", hpa.Stdout + hpa.Stderr, StringComparison.Ordinal);

        // A plain file of the same folder is fine.
        var plain = await Peers.TftpHpaAsync(server.LocalEndPoint!.Port, "undionly.kpxe", folder.Combine("y"));
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Equal(Peers.Sha256(Peers.IpxeFile("undionly.kpxe")), Peers.Sha256(folder.Combine("y")));
    }

    private static async Task<Streamboot.Testing.ProcessResult> CheckAtftpAsync(int port, string name, string local, params string[] options)
    {
        var atftp = await Peers.AtftpAsync(port, name, local, options);
        Assert.True(atftp.ExitCode == 0, atftp.ToString());
        return atftp;
    }
}
