using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Streamboot.Protocols.Iscsi.Pdus;

namespace Streamboot.Protocols.Iscsi.Tests;

/// <summary>
/// A raw-socket initiator that sends exactly the bytes a test asks for,
/// including what a real initiator never would, and reads what comes back.
/// </summary>
public sealed class RawInitiator : IAsyncDisposable
{
    private readonly TcpClient _client = new();
    private NetworkStream? _stream;

    public uint CmdSN { get; set; } = 1;

    public uint ExpStatSN { get; set; }

    public bool HeaderDigest { get; set; }

    public bool DataDigest { get; set; }

    /// <summary>Whether <see cref="ReceiveAsync"/> answers the target's pings itself and passes over them (true unless a test watches them).</summary>
    public bool AnswerPings { get; set; } = true;

    public static async Task<RawInitiator> ConnectAsync(int port)
    {
        var initiator = new RawInitiator();
        await initiator._client.ConnectAsync(IPAddress.Loopback, port);
        initiator._client.NoDelay = true;
        initiator._stream = initiator._client.GetStream();
        return initiator;
    }

    /// <summary>A Login Request (RFC 7143 11.12): CSG/NSG, the T bit, ISID, TSIH, CID, keys.</summary>
    public static byte[] Login(int csg, int nsg, bool transit, string keys, ushort tsih = 0, ushort cid = 0, uint itt = 1, uint cmdSN = 1, byte isidLast = 1)
    {
        var data = Encoding.UTF8.GetBytes(keys.Replace('\n', '\0') + "\0");
        var bhs = new byte[48];
        bhs[0] = 0x40 | 0x03;
        bhs[1] = (byte)((transit ? 0x80 : 0) | (csg << 2) | (transit ? nsg : 0));
        Pdu.SetDataSegmentLength(bhs, data.Length);
        bhs[8] = 0x80;
        bhs[13] = isidLast;
        BinaryPrimitives.WriteUInt16BigEndian(bhs.AsSpan(14), tsih);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt16BigEndian(bhs.AsSpan(20), cid);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), cmdSN);
        return [.. bhs, .. Pad(data)];
    }

    /// <summary>Logs in with no security stage; returns the final response's status (0 is success).</summary>
    public async Task<int> LoginAsync(string target, string extra = "", string sessionType = "Normal")
    {
        var keys = $"InitiatorName=iqn.2026-01.test:raw\nSessionType={sessionType}\n" + (sessionType == "Normal" ? $"TargetName={target}\n" : "")
            + "HeaderDigest=" + (HeaderDigest ? "CRC32C" : "None") + "\nDataDigest=" + (DataDigest ? "CRC32C" : "None") + "\nMaxRecvDataSegmentLength=65536\n" + extra;
        await SendAsync(Login(1, 3, true, keys.TrimEnd('\n'), cmdSN: CmdSN));
        var response = await ReceiveRawAsync(TimeSpan.FromSeconds(10), digest: false, dataDigest: false) ?? throw new IOException("no login response");
        ExpStatSN = Pdu.U32(response.Header, 24) + 1;
        return (response.Header[36] << 8) | response.Header[37];
    }

    public static byte[] NopOut(uint itt, uint cmdSN, bool immediate, byte[]? data = null, uint ttt = 0xffffffff)
    {
        data ??= [];
        var bhs = new byte[48];
        bhs[0] = (byte)((immediate ? 0x40 : 0) | 0x00);
        bhs[1] = 0x80;
        Pdu.SetDataSegmentLength(bhs, data.Length);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(20), ttt);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), cmdSN);
        return [.. bhs, .. Pad(data)];
    }

    public static byte[] ScsiCommand(uint itt, uint cmdSN, byte[] cdb, uint expectedLength, bool read, bool write, byte[]? immediateData = null)
    {
        immediateData ??= [];
        var bhs = new byte[48];
        bhs[0] = 0x01;
        bhs[1] = (byte)(0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0));
        Pdu.SetDataSegmentLength(bhs, immediateData.Length);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(20), expectedLength);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), cmdSN);
        cdb.CopyTo(bhs, 32);
        return [.. bhs, .. Pad(immediateData)];
    }

    public static byte[] DataOut(uint itt, uint ttt, uint dataSN, uint offset, byte[] data, bool final)
    {
        var bhs = new byte[48];
        bhs[0] = 0x05;
        bhs[1] = (byte)(final ? 0x80 : 0);
        Pdu.SetDataSegmentLength(bhs, data.Length);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(20), ttt);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(36), dataSN);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(40), offset);
        return [.. bhs, .. Pad(data)];
    }

    public static byte[] TestUnitReady(uint itt, uint cmdSN) => ScsiCommand(itt, cmdSN, new byte[16], 0, false, false);

    public static byte[] Read10(uint itt, uint cmdSN, uint lba, ushort blocks)
    {
        var cdb = new byte[16];
        cdb[0] = 0x28;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), blocks);
        return ScsiCommand(itt, cmdSN, cdb, (uint)blocks * 512, read: true, write: false);
    }

    public static byte[] Write10Cdb(uint lba, ushort blocks)
    {
        var cdb = new byte[16];
        cdb[0] = 0x2a;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), blocks);
        return cdb;
    }

    /// <summary>Adds a data digest (right or wrong) after the padded data segment of a PDU built above.</summary>
    public static byte[] WithDataDigest(byte[] pdu, int length, bool corrupt = false)
    {
        var digest = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(digest, Crc32C.OfDataSegment(pdu.AsSpan(48, length)) ^ (corrupt ? 1u : 0));
        return [.. pdu, .. digest];
    }

    /// <summary>Adds the header digest after the BHS of a PDU built above (the connection negotiated CRC32C).</summary>
    public static byte[] WithHeaderDigest(byte[] pdu, bool corrupt = false)
    {
        var digest = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(digest, Crc32C.Compute(pdu.AsSpan(0, 48)) ^ (corrupt ? 1u : 0));
        return [.. pdu.AsSpan(0, 48), .. digest, .. pdu.AsSpan(48)];
    }

    public async Task SendAsync(byte[] bytes)
    {
        await _stream!.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>The next PDU (header and data), or null when the connection closed or nothing came in time.</summary>
    public async Task<(byte[] Header, byte[] Data)?> ReceiveAsync(TimeSpan? timeout = null)
    {
        while (true)
        {
            var pdu = await ReceiveRawAsync(timeout ?? TimeSpan.FromSeconds(10), HeaderDigest, DataDigest);
            if (!AnswerPings || pdu is not { } received || (received.Header[0] & 0x3f) != 0x20 || Pdu.InitiatorTaskTag(received.Header) != 0xffffffff)
            {
                return pdu;
            }

            var answer = NopOut(0xffffffff, CmdSN, immediate: true, ttt: Pdu.U32(received.Header, 20));
            await SendAsync(HeaderDigest ? WithHeaderDigest(answer) : answer);
        }
    }

    private async Task<(byte[] Header, byte[] Data)?> ReceiveRawAsync(TimeSpan timeout, bool digest, bool dataDigest)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var header = new byte[48];
            await _stream!.ReadExactlyAsync(header, cts.Token);
            if (digest)
            {
                await _stream.ReadExactlyAsync(new byte[4], cts.Token);
            }

            var length = Pdu.DataSegmentLength(header);
            var data = new byte[length + Pdu.Padding(length) + (dataDigest && length > 0 ? 4 : 0)];
            await _stream.ReadExactlyAsync(data, cts.Token);
            if (dataDigest && length > 0 && BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(data.Length - 4)) != Crc32C.OfDataSegment(data.AsSpan(0, length)))
            {
                throw new InvalidDataException("the target's data digest is wrong");
            }

            return (header, data[..length]);
        }
        catch (Exception e) when (e is OperationCanceledException or EndOfStreamException or IOException)
        {
            return null;
        }
    }

    /// <summary>Whether the target closed the connection (reads end) within the time.</summary>
    public async Task<bool> ClosedAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[65536];
        try
        {
            while (true)
            {
                if (await _stream!.ReadAsync(buffer, cts.Token) == 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static byte[] Pad(byte[] data) => [.. data, .. new byte[Pdu.Padding(data.Length)]];

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
