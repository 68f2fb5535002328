using FsCheck;
using FsCheck.Fluent;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Tests.Support;

/// <summary>
/// Model-based testing: random sequences of reads, writes, trims, zeroes,
/// flushes and reopens run against a device and against a plain byte array;
/// every read (and every mapped read, where the device maps) and the final
/// contents must match. Offsets are drawn near
/// multiples of <c>granule</c> (the cluster or block size) so requests keep
/// straddling cluster boundaries, where copy-on-write bugs live.
/// </summary>
public static class ModelHarness
{
    public static Arbitrary<ModelOp[]> Ops(long size, int granule, bool reopen)
    {
        var granules = (int)Math.Max(1, size / granule);
        var offset =
            from g in Gen.Choose(0, granules)
            from shape in Gen.Choose(0, 3)
            from delta in Gen.Choose(0, granule - 1)
            from small in Gen.Choose(1, 700)
            let raw = shape switch
            {
                0 => ((long)g * granule) - small, // just before a boundary
                1 => (long)g * granule,
                _ => ((long)g * granule) + delta,
            }
            select Math.Clamp(raw, 0, size - 1);
        var length =
            from shape in Gen.Choose(0, 3)
            from n in Gen.Choose(1, granule * 3)
            from small in Gen.Choose(1, 1024)
            select shape switch
            {
                0 => small,
                1 => granule,
                _ => n,
            };
        var range = from o in offset from l in length select (o, (int)Math.Min(l, size - o));
        var ops = new List<(int, Gen<ModelOp>)>
        {
            (6, from r in range from s in Gen.Choose(1, 255) select (ModelOp)new ModelOp.Write(r.o, r.Item2, (byte)s)),
            (3, from r in range select (ModelOp)new ModelOp.Read(r.o, r.Item2)),
            (2, from r in range select (ModelOp)new ModelOp.Trim(r.o, r.Item2)),
            (2, from r in range from t in Gen.Elements(true, false) select (ModelOp)new ModelOp.Zero(r.o, r.Item2, t)),
            (1, from r in range select (ModelOp)new ModelOp.Extents(r.o, r.Item2)),
            (1, Gen.Constant((ModelOp)new ModelOp.Flush())),
        };
        if (reopen)
        {
            ops.Add((1, Gen.Constant((ModelOp)new ModelOp.Reopen())));
        }

        return Gen.Frequency(ops.ToArray()).ArrayOf().Select(a => a.Take(60).ToArray()).ToArbitrary();
    }

    /// <summary>
    /// Runs <paramref name="ops"/>; throws with the step that diverged.
    /// <paramref name="reopen"/> closes the device it is given and opens it again.
    /// </summary>
    public static IBlockDevice Run(IBlockDevice device, byte[] model, ModelOp[] ops, Func<IBlockDevice, IBlockDevice>? reopen = null)
    {
        var extents = new BlockExtent[64];
        for (var step = 0; step < ops.Length; step++)
        {
            switch (ops[step])
            {
                case ModelOp.Write w:
                    var data = Sync.Pattern(w.Length, w.Seed);
                    device.Write(w.Offset, data);
                    data.CopyTo(model, w.Offset);
                    break;
                case ModelOp.Trim t:
                    device.Trim(t.Offset, t.Length);
                    Array.Clear(model, (int)t.Offset, t.Length);
                    break;
                case ModelOp.Zero z:
                    device.Zero(z.Offset, z.Length, z.MayTrim ? WriteFlags.MayTrim : WriteFlags.None);
                    Array.Clear(model, (int)z.Offset, z.Length);
                    break;
                case ModelOp.Read r:
                    Compare(device.Read(r.Offset, r.Length), model, r.Offset, step, ops);
                    // Where the stack maps the range instead (a protocol's zero-copy path), the bytes named must be the same.
                    if (Mapped.TryRead(device, r.Offset, r.Length) is { } mapped)
                    {
                        Compare(mapped, model, r.Offset, step, ops);
                    }

                    break;
                case ModelOp.Extents e:
                    CheckExtents(device, model, e.Offset, e.Length, extents, step, ops);
                    break;
                case ModelOp.Flush:
                    device.Flush();
                    break;
                case ModelOp.Reopen when reopen is not null:
                    device = reopen(device);
                    break;
            }
        }

        Compare(device.Read(0, model.Length), model, 0, ops.Length, ops);
        return device;
    }

    private static void CheckExtents(IBlockDevice device, byte[] model, long offset, int length, BlockExtent[] extents, int step, ModelOp[] ops)
    {
        var end = offset + length;
        while (offset < end)
        {
            var n = device.GetExtentsAsync(offset, end - offset, extents).AsTask().GetAwaiter().GetResult();
            if (n < 1 || extents[0].Offset != offset)
            {
                throw new Xunit.Sdk.XunitException($"step {step}: extents at {offset} returned {n} entries starting at {(n > 0 ? extents[0].Offset : -1)}\n{Describe(ops)}");
            }

            for (var i = 0; i < n; i++)
            {
                var e = extents[i];
                if (e.Length <= 0 || (i > 0 && e.Offset != extents[i - 1].End) || e.End > device.Size)
                {
                    throw new Xunit.Sdk.XunitException($"step {step}: extent {e} does not continue the previous one\n{Describe(ops)}");
                }

                if ((e.Flags & ExtentFlags.Zero) != 0)
                {
                    var to = Math.Min(e.End, end);
                    for (var p = e.Offset; p < to; p++)
                    {
                        if (model[p] != 0)
                        {
                            throw new Xunit.Sdk.XunitException($"step {step}: extent {e} says zero but byte {p} is {model[p]}\n{Describe(ops)}");
                        }
                    }
                }
            }

            offset = extents[n - 1].End;
        }
    }

    private static void Compare(byte[] actual, byte[] model, long offset, int step, ModelOp[] ops)
    {
        for (var i = 0; i < actual.Length; i++)
        {
            if (actual[i] != model[offset + i])
            {
                throw new Xunit.Sdk.XunitException(
                    $"after step {step}: byte {offset + i} is {actual[i]}, the model says {model[offset + i]}\n{Describe(ops)}");
            }
        }
    }

    private static string Describe(ModelOp[] ops) => string.Join("\n", ops.Select((o, i) => $"  {i}: {o}"));
}
