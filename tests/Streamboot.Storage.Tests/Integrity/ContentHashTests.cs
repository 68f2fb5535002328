using System.Diagnostics;
using System.Security.Cryptography;
using Streamboot.Storage.Integrity;
using Streamboot.Storage.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Streamboot.Storage.Tests.Integrity;

/// <summary>The streamed hash against .NET's one-shot SHA-256, at the sizes where double buffering can go wrong.</summary>
public sealed class ContentHashTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(ContentHash.BufferSize - 1)]
    [InlineData(ContentHash.BufferSize)]
    [InlineData(ContentHash.BufferSize + 1)]
    [InlineData((3 * ContentHash.BufferSize) + 12345)]
    public async Task The_streamed_hash_is_the_files_sha256(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        var file = _dir.File("image");
        await File.WriteAllBytesAsync(file, bytes);

        var digest = await ContentHash.OfFileAsync(file);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), digest.Sha256);
        Assert.Equal(length, digest.Length);
        Assert.True(ContentDigest.IsWellFormed(digest.Sha256));
    }

    [Fact]
    public void Only_64_lower_case_hex_digits_are_a_digest()
    {
        Assert.False(ContentDigest.IsWellFormed(null));
        Assert.False(ContentDigest.IsWellFormed(new string('a', 63)));
        Assert.False(ContentDigest.IsWellFormed(new string('A', 64)));
        Assert.False(ContentDigest.IsWellFormed(new string('g', 64)));
        Assert.True(ContentDigest.IsWellFormed(new string('0', 64)));
    }

    [Fact]
    public async Task Hashing_runs_at_disk_speed()
    {
        // 512 MiB in the page cache: the figure the architecture notes quote.
        var file = _dir.File("big");
        var block = new byte[1 << 20];
        new Random(5).NextBytes(block);
        await using (var stream = File.Create(file))
        {
            for (var i = 0; i < 512; i++)
            {
                await stream.WriteAsync(block);
            }
        }

        await ContentHash.OfFileAsync(file);
        var watch = Stopwatch.StartNew();
        var digest = await ContentHash.OfFileAsync(file);
        var mibPerSecond = digest.Length / watch.Elapsed.TotalSeconds / (1 << 20);
        output.WriteLine($"hashed {digest.Length >> 20} MiB in {watch.Elapsed.TotalSeconds:0.000} s: {mibPerSecond:0} MiB/s");
        // Far below what SHA-256 does on any machine of this decade: a whole-file buffer or 4 KiB reads would still pass, an accidental per-byte path would not.
        Assert.True(mibPerSecond > 100, $"{mibPerSecond:0} MiB/s");
    }
}
