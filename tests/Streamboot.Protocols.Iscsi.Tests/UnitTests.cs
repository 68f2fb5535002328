using System.Text;
using Streamboot.Protocols.Iscsi.Connections;
using Streamboot.Protocols.Iscsi.Login;
using Streamboot.Protocols.Iscsi.Pdus;
using Streamboot.Protocols.Iscsi.Scsi;
using Streamboot.Protocols.Iscsi.Sessions;

namespace Streamboot.Protocols.Iscsi.Tests;

/// <summary>The pure parts: digests, text keys, negotiation, CHAP, the CmdSN window, persistent reservations.</summary>
public sealed class UnitTests
{
    [Fact]
    public void Crc32c_matches_the_rfc_test_vectors()
    {
        // RFC 7143 appendix B.4.
        Assert.Equal(0x8a9136aau, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62a8ab43u, Crc32C.Compute(Enumerable.Repeat((byte)0xff, 32).ToArray()));
        Assert.Equal(0x46dd794eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(Crc32C.Compute([1, 2, 3, 0]), Crc32C.OfDataSegment([1, 2, 3]));
    }

    [Theory]
    [InlineData("a=1\0b=2\0", true)]
    [InlineData("a=1\0a=2\0", false)]
    [InlineData("novalue\0", false)]
    [InlineData("=x\0", false)]
    [InlineData("", true)]
    public void Text_keys_parse_strictly(string text, bool ok)
    {
        Assert.Equal(ok, TextParameters.TryParse(Encoding.UTF8.GetBytes(text), out _, out _));
    }

    [Fact]
    public void Text_keys_refuse_overlong_keys_and_invalid_utf8()
    {
        Assert.False(TextParameters.TryParse(Encoding.UTF8.GetBytes(new string('k', 64) + "=1\0"), out _, out _));
        Assert.False(TextParameters.TryParse([(byte)'k', (byte)'=', 0xff, 0xfe, 0], out _, out _));
    }

    [Fact]
    public void Operational_keys_follow_their_result_functions()
    {
        TextParameters.TryParse(Encoding.UTF8.GetBytes(
            "HeaderDigest=CRC32C,None\0DataDigest=None\0MaxBurstLength=16776192\0FirstBurstLength=262144\0ImmediateData=Yes\0InitialR2T=No\0"
            + "MaxOutstandingR2T=8\0MaxConnections=16\0ErrorRecoveryLevel=2\0MaxRecvDataSegmentLength=131072\0IFMarker=Yes\0X-vendor=1\0MaxBurstLength2=x\0"), out var offered, out _);
        var answer = new TextParameters();
        var settled = new NegotiatedParameters();
        Assert.True(ParameterNegotiation.Negotiate(offered, answer, settled, new IscsiServerOptions(), discovery: false, out _));
        Assert.Equal("CRC32C", answer["HeaderDigest"]);
        Assert.Equal("None", answer["DataDigest"]);
        Assert.Equal("1048576", answer["MaxBurstLength"]);        // minimum with ours
        Assert.Equal("65536", answer["FirstBurstLength"]);        // minimum with ours
        Assert.Equal("Yes", answer["ImmediateData"]);             // AND
        Assert.Equal("No", answer["InitialR2T"]);                 // OR with our No
        Assert.Equal("1", answer["MaxOutstandingR2T"]);
        Assert.Equal("4", answer["MaxConnections"]);
        Assert.Equal("0", answer["ErrorRecoveryLevel"]);
        Assert.Equal("No", answer["IFMarker"]);
        Assert.Equal("NotUnderstood", answer["X-vendor"]);
        Assert.Null(answer["MaxRecvDataSegmentLength"]);          // declarative: answered by our own declaration
        Assert.Equal(131072, settled.InitiatorMaxRecvDataSegmentLength);
        Assert.True(settled.HeaderDigest);
    }

    [Fact]
    public void Out_of_range_and_malformed_values_are_rejected_or_end_the_login()
    {
        TextParameters.TryParse("MaxBurstLength=12\0ImmediateData=Maybe\0"u8, out var offered, out _);
        var answer = new TextParameters();
        Assert.True(ParameterNegotiation.Negotiate(offered, answer, new NegotiatedParameters(), new IscsiServerOptions(), false, out _));
        Assert.Equal("Reject", answer["MaxBurstLength"]);
        Assert.Equal("Reject", answer["ImmediateData"]);
        TextParameters.TryParse("MaxRecvDataSegmentLength=99999999\0"u8, out offered, out _);
        Assert.False(ParameterNegotiation.Negotiate(offered, new TextParameters(), new NegotiatedParameters(), new IscsiServerOptions(), false, out _));
    }

    [Fact]
    public void Chap_md5_answers_as_rfc_1994_says()
    {
        // MD5(0x01 || "secret" || 0x00..0x0f), computed independently.
        var challenge = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        var expected = System.Security.Cryptography.MD5.HashData([1, .. "secret"u8, .. challenge]);
        Assert.Equal(expected, Chap.Response(1, "secret", challenge));
        Assert.True(Chap.Proves(1, "secret", challenge, expected));
        Assert.False(Chap.Proves(2, "secret", challenge, expected));
        Assert.True(Chap.TryParseBinary("0x" + Convert.ToHexString(expected), out var parsed) && parsed.SequenceEqual(expected));
        Assert.True(Chap.TryParseBinary("0b" + Convert.ToBase64String(expected), out parsed) && parsed.SequenceEqual(expected));
        Assert.False(Chap.TryParseBinary("0xZZ", out _));
        Assert.False(Chap.TryParseBinary("0x" + new string('a', 4000), out _));
    }

    [Fact]
    public void The_cmdsn_window_delivers_in_order_ignores_outside_and_opens_as_commands_complete()
    {
        var session = new IscsiSession(1, "000000000001", "iqn.test:i", "iqn.test:t", false, new NegotiatedParameters(), new IscsiServerOptions { CommandWindow = 4 }, 10);
        Assert.Equal((10u, 13u), session.Window);
        var delivered = new List<ISequenced>();
        var a = new Work("a");
        var b = new Work("b");
        Assert.Equal(Admission.Queued, session.Admit(b, 11, false, delivered));
        Assert.Empty(delivered);
        Assert.Equal(Admission.Delivered, session.Admit(a, 10, false, delivered));
        Assert.Equal([a, b], delivered);
        Assert.Equal(Admission.Ignored, session.Admit(new Work("old"), 9, false, delivered));
        Assert.Equal(Admission.Ignored, session.Admit(new Work("far"), 16, false, delivered));
        Assert.Equal(Admission.Delivered, session.Admit(new Work("now"), 5, true, delivered));
        Assert.Equal((12u, 15u), session.Window);
    }

    [Fact]
    public void Persistent_reservations_keep_out_who_they_must()
    {
        var pr = new PersistentReservations();
        var cdb = new byte[10];
        Assert.Equal(ScsiStatus.Good, pr.Out("A", Register(cdb), Parameters(0, 0xaa)).Status);
        Assert.Equal(ScsiStatus.Good, pr.Out("B", Register(cdb), Parameters(0, 0xbb)).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, pr.Out("C", Reserve(cdb, 1), Parameters(0xcc, 0)).Status);
        Assert.Equal(ScsiStatus.Good, pr.Out("A", Reserve(cdb, PersistentReserve.WriteExclusive), Parameters(0xaa, 0)).Status);
        Assert.True(pr.Conflicts("B", AccessKind.Write));
        Assert.False(pr.Conflicts("B", AccessKind.Read));
        Assert.False(pr.Conflicts("A", AccessKind.Write));
        // B preempts A: A's registration and reservation are gone, B holds it.
        cdb[1] = PersistentReserve.Preempt;
        Assert.Equal(ScsiStatus.Good, pr.Out("B", cdb, Parameters(0xbb, 0xaa)).Status);
        Assert.True(pr.IsHolder("B"));
        Assert.True(pr.Conflicts("A", AccessKind.Write));
    }

    private static byte[] Register(byte[] cdb)
    {
        cdb[1] = PersistentReserve.Register;
        cdb[2] = 0;
        return cdb;
    }

    private static byte[] Reserve(byte[] cdb, byte type)
    {
        cdb[1] = PersistentReserve.Reserve;
        cdb[2] = type;
        return cdb;
    }

    private static byte[] Parameters(ulong key, ulong serviceKey)
    {
        var data = new byte[24];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(data, key);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(8), serviceKey);
        return data;
    }

    private sealed record Work(string Name) : ISequenced
    {
        public void Deliver()
        {
        }
    }
}
