namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>
/// Every command and flag through libnbd's Python binding. Strict mode off lets
/// libnbd send what it would refuse itself, so the server's own answers are tested.
/// </summary>
public sealed class NbdshTests
{
    private const string Prelude = """
        import errno
        def expect_error(code, fn, *args, **kwargs):
            try:
                fn(*args, **kwargs)
            except nbd.Error as e:
                assert e.errnum == code, f"{fn.__name__}: expected {errno.errorcode[code]}, got {e.errnum}: {e}"
                return
            raise AssertionError(f"{fn.__name__} succeeded, expected {errno.errorcode[code]}")

        """;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Every_command_with_structured_replies(bool zeroCopyReads)
    {
        await using var server = NbdTestServer.Start(new NbdServerOptions { ZeroCopyReads = zeroCopyReads });
        var path = server.AddRaw("disk", 8 * 1024 * 1024, fill: false);
        await Peers.CheckAsync("nbdsh", "libnbd-bin (and python3-libnbd)", "-c", Prelude + $$"""
            h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
            h.connect_uri("{{server.Url("disk")}}")
            assert h.get_structured_replies_negotiated()
            assert h.can_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
            assert h.can_fua() and h.can_flush() and h.can_trim() and h.can_zero() and h.can_fast_zero() and h.can_cache() and h.can_df()
            assert h.get_size() == 8 * 1024 * 1024
            data = bytes(range(256)) * 256
            h.pwrite(data, 65536, nbd.CMD_FLAG_FUA)
            h.pwrite(data, 1048576)
            h.flush()
            assert h.pread(65536, 65536) == data
            assert h.pread_structured(65536, 65536, lambda *a: 0, nbd.CMD_FLAG_DF) == data
            chunks = []
            def chunk(buf, offset, status, err):
                chunks.append((offset, status, len(buf)))
                return 0
            assert h.pread_structured(4096, 65536 + 4096, chunk) == data[4096:8192]
            assert chunks == [(65536 + 4096, nbd.READ_DATA, 4096)], chunks
            h.cache(65536, 65536)
            entries = []
            def extents(context, offset, e, err):
                if context == nbd.CONTEXT_BASE_ALLOCATION:
                    entries.extend(e)
                return 0
            h.block_status(8 * 1024 * 1024, 0, extents)
            assert entries[0:2] == [65536, 3], entries
            assert entries[2] == 65536 and entries[3] == 0, entries
            assert sum(entries[0::2]) == 8 * 1024 * 1024, entries
            # Successive requests on one connection: each map covers exactly its range.
            for off in range(0, 8 * 1024 * 1024, 1024 * 1024):
                got = []
                h.block_status(8 * 1024 * 1024 - off, off, lambda c, o, e, err: got.extend(e) or 0)
                assert sum(got[0::2]) == 8 * 1024 * 1024 - off, (off, got)
            one = []
            h.block_status(8 * 1024 * 1024, 0, lambda c, o, e, err: one.extend(e) or 0, nbd.CMD_FLAG_REQ_ONE)
            assert one == [65536, 3], one
            h.trim(65536, 1048576)
            assert h.pread(65536, 1048576) == bytes(65536)
            h.pwrite(data, 1048576)
            h.zero(65536, 1048576, nbd.CMD_FLAG_NO_HOLE)
            assert h.pread(65536, 1048576) == bytes(65536)
            h.pwrite(data, 1048576)
            h.zero(65536, 1048576, nbd.CMD_FLAG_FAST_ZERO)
            assert h.pread(65536, 1048576) == bytes(65536)
            h.zero(4096, 0, nbd.CMD_FLAG_FUA)
            # Many requests in flight at once, completing in any order.
            buffers = [nbd.Buffer(4096) for i in range(64)]
            cookies = [h.aio_pread(buffers[i], 65536 + i * 4096) for i in range(64)]
            while h.aio_in_flight() > 0:
                h.poll(-1)
            for i, c in enumerate(cookies):
                assert h.aio_command_completed(c)
                assert buffers[i].to_bytearray() == (data[i * 4096:(i + 1) * 4096] if i < 16 else bytes(4096)), i
            h.shutdown()
            """);
        await server.Provider.WaitUntilClosedAsync();
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.Equal(1, bytes[65537]);
    }

    [Fact]
    public async Task Every_command_with_simple_replies()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("disk", 4 * 1024 * 1024);
        await Peers.CheckAsync("nbdsh", "libnbd-bin (and python3-libnbd)", "-c", Prelude + $$"""
            h.set_request_structured_replies(False)
            h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
            h.connect_uri("{{server.Url("disk")}}")
            assert not h.get_structured_replies_negotiated()
            assert not h.can_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
            assert not h.can_df()
            data = b"\x42" * 8192
            h.pwrite(data, 4096, nbd.CMD_FLAG_FUA)
            assert h.pread(8192, 4096) == data
            h.flush()
            h.trim(4096, 4096)
            h.zero(4096, 8192, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FAST_ZERO)
            assert h.pread(8192, 4096) == bytes(8192)
            h.cache(4096, 0)
            h.set_strict_mode(0)
            expect_error(errno.EINVAL, h.block_status, 4096, 0, lambda *a: 0)
            expect_error(errno.EINVAL, h.pread, 4096, 4 * 1024 * 1024)
            expect_error(errno.EINVAL, h.pread, 33 * 1024 * 1024, 0)
            expect_error(errno.ENOSPC, h.pwrite, data, 4 * 1024 * 1024 - 4096)
            expect_error(errno.EINVAL, h.pread_structured, 4096, 0, lambda *a: 0, nbd.CMD_FLAG_DF)
            assert h.pread(4096, 0) is not None
            h.shutdown()
            """);
    }

    [Fact]
    public async Task Server_side_errors_with_strict_mode_off()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("disk", 4 * 1024 * 1024);
        server.AddRaw("ro", 4 * 1024 * 1024, readOnly: true);
        server.AddRaw("aligned", 4 * 1024 * 1024, minimumBlockSize: 512);
        await Peers.CheckAsync("nbdsh", "libnbd-bin (and python3-libnbd)", "-c", Prelude + $$"""
            h.connect_uri("{{server.Url("disk")}}")
            h.set_strict_mode(0)
            expect_error(errno.EINVAL, h.pread, 4096, 4 * 1024 * 1024 - 2048)
            expect_error(errno.ENOSPC, h.pwrite, b"x" * 4096, 4 * 1024 * 1024 - 2048)
            expect_error(errno.ENOSPC, h.zero, 4096, 4 * 1024 * 1024)
            expect_error(errno.ENOSPC, h.trim, 4096, 4 * 1024 * 1024)
            expect_error(errno.EOVERFLOW, h.pread, 33 * 1024 * 1024, 0)
            expect_error(errno.EINVAL, h.cache, 4096, 5 * 1024 * 1024)
            expect_error(errno.EINVAL, h.trim, 4096, 0, nbd.CMD_FLAG_FAST_ZERO)
            expect_error(errno.EINVAL, h.block_status, 4096, 0, lambda *a: 0)
            assert len(h.pread(4096, 0)) == 4096
            h.shutdown()

            h = nbd.NBD()
            h.connect_uri("{{server.Url("ro")}}")
            assert h.is_read_only()
            h.set_strict_mode(0)
            expect_error(errno.EPERM, h.pwrite, b"x" * 4096, 0)
            expect_error(errno.EPERM, h.zero, 4096, 0)
            expect_error(errno.EPERM, h.trim, 4096, 0)
            assert len(h.pread(4096, 0)) == 4096
            h.flush()
            h.shutdown()

            h = nbd.NBD()
            h.connect_uri("{{server.Url("aligned")}}")
            assert h.get_block_size(nbd.SIZE_MINIMUM) == 512
            h.set_strict_mode(0)
            expect_error(errno.EINVAL, h.pread, 100, 0)
            expect_error(errno.EINVAL, h.pwrite, b"x" * 512, 100)
            assert len(h.pread(512, 512)) == 512
            h.shutdown()
            """);
    }

    [Fact]
    public async Task Option_negotiation_list_info_and_meta_contexts()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("a", 1024 * 1024, description: "disk A");
        server.AddRaw("b", 2 * 1024 * 1024, readOnly: true);
        await Peers.CheckAsync("nbdsh", "libnbd-bin (and python3-libnbd)", "-c", Prelude + $$"""
            h.set_opt_mode(True)
            h.set_full_info(True)
            h.connect_uri("nbd://127.0.0.1:{{server.Port}}/")
            names = []
            h.opt_list(lambda name, desc: names.append((name, desc)) or 0)
            assert names == [("a", "disk A"), ("b", "")], names
            h.set_export_name("b")
            h.opt_info()
            assert h.get_size() == 2 * 1024 * 1024
            assert h.is_read_only()
            contexts = []
            h.opt_list_meta_context(lambda name: contexts.append(name) or 0)
            assert contexts == ["base:allocation"], contexts
            h.set_export_name("nope")
            expect_error(errno.ENOENT, h.opt_info)
            h.set_export_name("a")
            h.opt_info()
            assert h.get_export_description() == "disk A"
            assert h.get_canonical_export_name() == "a"
            h.opt_go()
            assert h.get_size() == 1024 * 1024
            assert not h.is_read_only()
            h.shutdown()
            """);
    }
}
