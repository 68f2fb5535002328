using Streamboot.Storage.Formats.Qcow2;

// Child process of the kill -9 test. Usage: CrashWriter IMAGE SEED
// Writes (and now and then trims) random ranges of an existing qcow2 image,
// flushing after each, and prints "begin N OFFSET LENGTH KIND" before and
// "done N" after every operation. The parent kills it with SIGKILL at a
// random moment and checks that everything reported done is in the image.
var path = args[0];
var random = new Random(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
var image = Qcow2Image.Open(path, readOnly: false);
var stdout = Console.Out;
for (var n = 0; ; n++)
{
    var length = random.Next(1, 200_000);
    var offset = random.NextInt64(0, image.Size - length);
    var trim = random.Next(8) == 0;
    stdout.WriteLine($"begin {n} {offset} {length} {(trim ? "trim" : "write")}");
    stdout.Flush();
    if (trim)
    {
        await image.TrimAsync(offset, length);
    }
    else
    {
        var data = new byte[length];
        CrashPattern.Fill(data, n, offset);
        await image.WriteAsync(offset, data);
    }

    await image.FlushAsync();
    stdout.WriteLine($"done {n}");
    stdout.Flush();
}

/// <summary>The bytes of write N, shared with the test that checks them.</summary>
public static class CrashPattern
{
    public static void Fill(Span<byte> data, int n, long offset)
    {
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = Byte(n, offset + i);
        }
    }

    public static byte Byte(int n, long position) => (byte)((n * 31) + (position >> 9) + 1);
}
