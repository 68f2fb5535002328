using System.Buffers.Binary;
using System.Text;
using Streamboot.Testing;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>
/// NBD_OPT_STARTTLS (doc/proto.md "TLS support") with the real TLS clients:
/// libnbd (nbdinfo, nbdcopy over nbds:// URIs with tls-certificates=DIR) and
/// qemu-img (tls-creds-x509, endpoint=client), bytes compared; FORCEDTLS
/// refusing plaintext; and what a hostile client sends around the upgrade.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private const int MiB = 1024 * 1024;
    private readonly TempFolder _folder = new("streamboot-nbd-tls");
    private readonly TestCertificates _certificates;

    public TlsTests() => _certificates = TestCertificates.Create(_folder.Combine("tls"));

    public void Dispose()
    {
        _certificates.Dispose();
        _folder.Dispose();
    }

    private NbdTestServer Start(NbdTlsMode mode) => NbdTestServer.Start(new NbdServerOptions { Tls = mode, TlsCertificate = _certificates.Context, HandshakeTimeout = TimeSpan.FromSeconds(10) });

    private string Tls(NbdTestServer server, string export) => $"nbds://127.0.0.1:{server.Port}/{export}?tls-certificates={_certificates.Folder}";

    [Fact]
    public async Task Libnbd_and_qemu_read_and_write_through_tls_byte_for_byte()
    {
        await using var server = Start(NbdTlsMode.Required);
        var source = server.AddRaw("source", 24 * MiB, readOnly: true);
        var target = server.AddRaw("target", 24 * MiB, fill: false);

        var info = await Peers.NbdInfoAsync(Tls(server, "source"));
        Assert.Contains("with TLS", info, StringComparison.Ordinal);

        var copy = server.Folder.Combine("copy.raw");
        await Peers.NbdCopyAsync(Tls(server, "source"), copy);
        Assert.True(PeerTests.FilesEqual(source, copy), "nbdcopy over TLS changed the data");

        var other = server.Folder.Combine("other.raw");
        await File.WriteAllBytesAsync(other, NbdTestServer.Pattern(24 * MiB, 9));
        await Peers.NbdCopyAsync("--flush", other, Tls(server, "target"));
        await server.Provider.WaitUntilClosedAsync();
        Assert.True(PeerTests.FilesEqual(other, target), "nbdcopy to the server over TLS changed the data");

        var converted = server.Folder.Combine("qemu.raw");
        await QemuImg.RunAsync(
            "convert", "--object", $"tls-creds-x509,id=tls0,dir={_certificates.Folder},endpoint=client",
            "--image-opts", $"driver=nbd,host=127.0.0.1,port={server.Port},export=source,tls-creds=tls0", "-O", "raw", converted);
        Assert.True(PeerTests.FilesEqual(source, converted), "qemu-img over TLS changed the data");
        Assert.Contains(server.Log.Entries, e => e.EventId == 2016 && e.Message.Contains("Tls1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_plaintext_client_is_refused_when_tls_is_required()
    {
        await using var server = Start(NbdTlsMode.Required);
        server.AddRaw("disk", MiB);
        var plain = await Peers.RunAsync("nbdinfo", "libnbd-bin", server.Url("disk"));
        Assert.NotEqual(0, plain.ExitCode);

        await using (var client = await RawNbdClient.ConnectAsync(server.Port))
        {
            await client.HandshakeAsync();
            async Task<NbdOptionReply> Ask(NbdOption option, byte[] data)
            {
                await client.SendOptionAsync(option, data);
                return await client.ReadFinalReplyAsync();
            }

            // doc/proto.md FORCEDTLS: every option but STARTTLS and ABORT, known or not, before TLS.
            Assert.Equal(NbdOptionReply.ErrTlsReqd, await Ask(NbdOption.List, []));
            Assert.Equal(NbdOptionReply.ErrTlsReqd, await Ask(NbdOption.Info, RawNbdClient.InfoRequest("disk")));
            Assert.Equal(NbdOptionReply.ErrTlsReqd, await Ask(NbdOption.Go, RawNbdClient.InfoRequest("disk")));
            Assert.Equal(NbdOptionReply.ErrTlsReqd, await Ask(NbdOption.StructuredReply, []));
            Assert.Equal(NbdOptionReply.ErrTlsReqd, await Ask((NbdOption)99, [1, 2, 3]));
            Assert.Equal(NbdOptionReply.ErrTlsReqd, await Ask(NbdOption.Info, new byte[200_000]));
            Assert.Equal(NbdOptionReply.Ack, await Ask(NbdOption.Abort, []));
        }

        await using (var client = await RawNbdClient.ConnectAsync(server.Port))
        {
            // NBD_OPT_EXPORT_NAME cannot be refused with an error: the server hangs up.
            await client.HandshakeAsync();
            await client.SendOptionAsync(NbdOption.ExportName, Encoding.UTF8.GetBytes("disk"));
            Assert.True(await client.ClosedByServerAsync());
        }

        Assert.Empty(server.Provider.EndedSessions); // no export was ever opened
    }

    [Fact]
    public async Task Offered_tls_serves_plaintext_and_tls_clients_alike()
    {
        await using var server = Start(NbdTlsMode.Offered);
        var path = server.AddRaw("disk", 4 * MiB, readOnly: true);
        Assert.Contains("without TLS", await Peers.NbdInfoAsync(server.Url("disk")), StringComparison.Ordinal);
        Assert.Contains("with TLS", await Peers.NbdInfoAsync(Tls(server, "disk")), StringComparison.Ordinal);
        var copy = server.Folder.Combine("copy.raw");
        await Peers.NbdCopyAsync(Tls(server, "disk"), copy);
        Assert.True(PeerTests.FilesEqual(path, copy));
    }

    [Fact]
    public async Task Garbage_in_the_tls_handshake_closes_the_connection_and_is_logged()
    {
        await using var server = Start(NbdTlsMode.Required);
        server.AddRaw("disk", MiB);
        await using (var client = await RawNbdClient.ConnectAsync(server.Port))
        {
            await client.HandshakeAsync();
            await client.SendOptionAsync(NbdOption.StartTls, []);
            Assert.Equal(NbdOptionReply.Ack, (await client.ReadOptionReplyAsync()).Reply);
            // Not a TLS record: a line of text with a terminal escape.
            await client.WriteAsync([.. Encoding.ASCII.GetBytes("GET / HTTP/1.0\r\n\u001b[2J\r\n"), .. NbdTestServer.Pattern(300, 4)]);
            Assert.True(await client.ClosedByServerAsync());
        }

        await NbdTestServer.WaitForAsync(() => server.Log.Messages(2017).Any(), "the failed handshake to be logged");
        Assert.DoesNotContain('\u001b', server.Log.All);
        // The log line is written before the connection's slot is given back.
        await NbdTestServer.WaitForAsync(() => server.Server.ConnectionCount == 0, "the connection's slot to be released");
        await Peers.NbdInfoAsync(Tls(server, "disk"));
    }

    [Fact]
    public async Task Plaintext_sent_behind_starttls_is_never_taken_for_tls_or_options()
    {
        await using var server = Start(NbdTlsMode.Required);
        server.AddRaw("disk", MiB);
        await using var client = await RawNbdClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();
        // STARTTLS and an injected GO in one segment, as a man in the middle would send them.
        var startTls = Option(NbdOption.StartTls, []);
        var go = Option(NbdOption.Go, RawNbdClient.InfoRequest("disk"));
        await client.WriteAsync([.. startTls, .. go]);
        Assert.Equal(NbdOptionReply.Ack, (await client.ReadOptionReplyAsync()).Reply);
        Assert.True(await client.ClosedByServerAsync());
        Assert.Contains(server.Log.Messages(2020), m => m.Contains("STARTTLS", StringComparison.Ordinal));
        Assert.Empty(server.Provider.EndedSessions);
    }

    [Fact]
    public async Task Starttls_forgets_what_was_agreed_before_it_and_cannot_be_repeated()
    {
        await using var server = Start(NbdTlsMode.Offered);
        server.AddRaw("disk", MiB);
        await using var client = await RawNbdClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();
        await client.SendOptionAsync(NbdOption.StructuredReply, []);
        Assert.Equal(NbdOptionReply.Ack, await client.ReadFinalReplyAsync());
        await client.StartTlsAsync(_certificates.Ca);
        await client.SendOptionAsync(NbdOption.StartTls, []);
        Assert.Equal(NbdOptionReply.ErrInvalid, await client.ReadFinalReplyAsync());

        await client.SendOptionAsync(NbdOption.Go, RawNbdClient.InfoRequest("disk"));
        NbdTransmissionFlags flags = 0;
        while (true)
        {
            var (_, reply, data) = await client.ReadOptionReplyAsync();
            if (reply == NbdOptionReply.Info && BinaryPrimitives.ReadUInt16BigEndian(data) == (ushort)NbdInfo.Export)
            {
                flags = (NbdTransmissionFlags)BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(10));
            }

            if (reply != NbdOptionReply.Info)
            {
                Assert.Equal(NbdOptionReply.Ack, reply);
                break;
            }
        }

        // Structured replies were agreed in plaintext only: DF is not offered, and a READ gets a simple reply.
        Assert.Equal(0, (int)(flags & NbdTransmissionFlags.SendDf));
        await client.SendRequestAsync(NbdCommand.Read, 5, 0, 4096);
        var (error, cookie, bytes) = await client.ReadSimpleReplyAsync(4096);
        Assert.Equal((NbdError.None, 5ul, 4096), (error, cookie, bytes.Length));
    }

    private static byte[] Option(NbdOption option, byte[] data)
    {
        var bytes = new byte[16 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, NbdProtocol.IHaveOpt);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8), (uint)option);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(12), (uint)data.Length);
        data.CopyTo(bytes.AsSpan(16));
        return bytes;
    }
}
