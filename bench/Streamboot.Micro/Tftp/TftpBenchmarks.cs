using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using BenchmarkDotNet.Attributes;
using Streamboot.Protocols.Tftp;
using Streamboot.Protocols.Tftp.Files;

namespace Streamboot.Micro.Tftp;

/// <summary>
/// TFTP: parsing a read request (once per transfer), and whole transfers from
/// an in-process <see cref="TftpServer"/> over loopback to a client of a few
/// lines (RRQ with blksize 1468, then ACK each DATA block). A transfer of one
/// block and one of 64 blocks: their difference over 63 is what one more DATA
/// block costs.
/// </summary>
[MemoryDiagnoser]
public class TftpBenchmarks
{
    private const int BlockSize = 1468;
    private readonly byte[] _datagram = new byte[2048];
    private readonly SocketAddress _from = new(AddressFamily.InterNetwork);
    private byte[] _rrqSmall = null!;
    private byte[] _rrqLarge = null!;
    private string _folder = null!;
    private TftpServer _server = null!;
    private Socket _client = null!;
    private SocketAddress _serverAddress = null!;

    [GlobalSetup]
    public void Setup()
    {
        _folder = Directory.CreateTempSubdirectory("streamboot-micro-tftp-").FullName;
        File.WriteAllBytes(Path.Combine(_folder, "one.bin"), new byte[BlockSize - 1]);
        File.WriteAllBytes(Path.Combine(_folder, "ipxe.efi"), new byte[(64 * BlockSize) - 1]);
        _rrqSmall = ReadRequest("one.bin");
        _rrqLarge = ReadRequest("ipxe.efi");
        _server = new TftpServer(new TftpFolderSource(_folder));
        _server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        _serverAddress = _server.LocalEndPoint!.Serialize();
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        _client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark(Description = "TFTP parse RRQ")]
    public TftpRequest? ParseReadRequest() => TftpRequestParser.TryParse(_rrqLarge, out var request) == TftpRequestRejection.None ? request : null;

    [Benchmark(Description = "TFTP transfer, 1 block")]
    public int TransferOneBlock() => Transfer(_rrqSmall);

    [Benchmark(Description = "TFTP transfer, 64 blocks")]
    public int TransferSixtyFourBlocks() => Transfer(_rrqLarge);

    /// <summary>RRQ, ACK 0 for the OACK, then ACK every DATA block until a short one; returns the blocks received.</summary>
    private int Transfer(byte[] request)
    {
        _client.SendTo(request, SocketFlags.None, _serverAddress);
        var length = _client.ReceiveFrom(_datagram, SocketFlags.None, _from);
        var blocks = 0;
        Span<byte> ack = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(ack, 4);
        while (true)
        {
            var opcode = BinaryPrimitives.ReadUInt16BigEndian(_datagram);
            if (opcode == 6)
            {
                BinaryPrimitives.WriteUInt16BigEndian(ack[2..], 0);
            }
            else if (opcode == 3)
            {
                blocks++;
                ack[2] = _datagram[2];
                ack[3] = _datagram[3];
            }
            else
            {
                throw new InvalidOperationException($"TFTP opcode {opcode}");
            }

            _client.SendTo(ack, SocketFlags.None, _from);
            if (opcode == 3 && length - 4 < BlockSize)
            {
                return blocks;
            }

            length = _client.ReceiveFrom(_datagram, SocketFlags.None, _from);
        }
    }

    private static byte[] ReadRequest(string file)
    {
        var text = $"\0\u0001{file}\0octet\0blksize\0{BlockSize}\0tsize\00\0";
        return Encoding.ASCII.GetBytes(text);
    }
}
