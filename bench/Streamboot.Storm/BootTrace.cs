using System.Globalization;

namespace Streamboot.Storm;

/// <summary>One NBD request of a recorded boot: READ, WRITE or FLUSH of a byte range.</summary>
internal readonly record struct TraceOp(char Op, long Offset, int Length);

/// <summary>
/// A recorded boot's NBD requests in the order the guest sent them
/// (boot-trace.txt, written by record-trace.sh: "MS OP OFFSET LENGTH" a
/// line). The storm replays the order, not the recorded times: the times
/// are mostly the emulated guest's own CPU work.
/// </summary>
internal sealed class BootTrace
{
    private BootTrace(IReadOnlyList<TraceOp> ops) => Ops = ops;

    public IReadOnlyList<TraceOp> Ops { get; }

    public long ReadBytes => Ops.Where(o => o.Op == 'R').Sum(o => (long)o.Length);

    public long WrittenBytes => Ops.Where(o => o.Op == 'W').Sum(o => (long)o.Length);

    public int Reads => Ops.Count(o => o.Op == 'R');

    public int Writes => Ops.Count(o => o.Op == 'W');

    public static BootTrace Load(string path)
    {
        var ops = new List<TraceOp>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 4 || fields[1] is not ("R" or "W" or "F"))
            {
                throw new InvalidDataException($"{path}: not a trace line: {line}");
            }

            ops.Add(new TraceOp(fields[1][0], long.Parse(fields[2], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture)));
        }

        return ops.Count > 0 ? new BootTrace(ops) : throw new InvalidDataException($"{path} holds no requests");
    }
}
