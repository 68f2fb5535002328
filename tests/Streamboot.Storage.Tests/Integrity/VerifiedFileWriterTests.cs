using System.Security.Cryptography;
using Streamboot.Storage.Integrity;
using Streamboot.Storage.Tests.Support;
using Xunit;

namespace Streamboot.Storage.Tests.Integrity;

/// <summary>The final name holds the expected bytes or nothing new; no temporary file survives any outcome.</summary>
public sealed class VerifiedFileWriterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_right_bytes_replace_the_file_and_zero_blocks_stay_holes()
    {
        var bytes = new byte[6 << 20];
        new Random(1).NextBytes(bytes.AsSpan(0, 1 << 20));
        new Random(2).NextBytes(bytes.AsSpan(5 << 20, 4096));
        var final = _dir.File("gold.1.raw");
        await File.WriteAllTextAsync(final, "a corrupt copy");

        var outcome = await VerifiedFileWriter.WriteAsync(new MemoryStream(bytes), final, Digest(bytes));

        Assert.Equal(CopyOutcome.Verified, outcome);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(final));
        Assert.Equal([final], Directory.GetFiles(_dir.Path));
        // Four of the six MiB were zeros: not written.
        Assert.True(AllocatedBytes(final) < (3L << 20), $"{AllocatedBytes(final)} bytes allocated");
    }

    [Theory]
    [InlineData(CopyOutcome.HashMismatch)]
    [InlineData(CopyOutcome.TooLong)]
    [InlineData(CopyOutcome.Truncated)]
    public async Task Wrong_bytes_leave_the_old_file_and_no_temporary_one(CopyOutcome wrong)
    {
        var bytes = new byte[3 << 20];
        new Random(3).NextBytes(bytes);
        var expected = Digest(bytes);
        var sent = wrong switch
        {
            CopyOutcome.HashMismatch => Flipped(bytes, 2_000_000),
            CopyOutcome.TooLong => [.. bytes, 0],
            _ => bytes[..^1],
        };
        var final = _dir.File("gold.2.qcow2");
        await File.WriteAllTextAsync(final, "old");

        Assert.Equal(wrong, await VerifiedFileWriter.WriteAsync(new MemoryStream(sent), final, expected));

        Assert.Equal("old", await File.ReadAllTextAsync(final));
        Assert.Equal([final], Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public async Task A_copy_cut_off_takes_its_temporary_file_with_it_and_leftovers_of_a_crash_are_swept()
    {
        var final = _dir.File("gold.3.qcow2");
        using var cts = new CancellationTokenSource();
        var stream = new ThrowingStream(cts);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => VerifiedFileWriter.WriteAsync(stream, final, new ContentDigest(new string('0', 64), 10 << 20), cancellationToken: cts.Token));
        Assert.Empty(Directory.GetFiles(_dir.Path));

        // What a crash (no finally) leaves: a temporary file; others are not touched.
        await File.WriteAllTextAsync(_dir.File(".gold.3.qcow2.partial-0123456789ab"), "half");
        await File.WriteAllTextAsync(_dir.File("gold.1.qcow2"), "keep");
        Assert.Equal(1, VerifiedFileWriter.RemoveLeftovers(_dir.Path));
        Assert.Equal([_dir.File("gold.1.qcow2")], Directory.GetFiles(_dir.Path));
    }

    private static ContentDigest Digest(byte[] bytes) => new(Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length);

    private static byte[] Flipped(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 1;
        return copy;
    }

    private static long AllocatedBytes(string file)
    {
        var result = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%b %B", file]) { RedirectStandardOutput = true })!;
        var parts = result.StandardOutput.ReadToEnd().Trim().Split(' ');
        result.WaitForExit();
        return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Hands out one MiB, then cancels the copy (a connection dropped mid-way).</summary>
    private sealed class ThrowingStream(CancellationTokenSource cts) : Stream
    {
        private bool _sent;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_sent)
            {
                _sent = true;
                buffer.Span.Fill(7);
                return ValueTask.FromResult(buffer.Length);
            }

            cts.Cancel();
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult(0);
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
