namespace Streamboot.Protocols.Tftp.Tests;

/// <summary>The request parser as a pure function.</summary>
public sealed class RequestParserTests
{
    [Fact]
    public void A_request_with_options_and_nul_padding_parses()
    {
        byte[] datagram = [.. RawTftpClient.Request(TftpOpcode.ReadRequest, "pxelinux.0", "OCTET", ("blksize", "1432"), ("tsize", "0")), 0, 0, 0, 0];
        Assert.Equal(TftpRequestRejection.None, TftpRequestParser.TryParse(datagram, out var request));
        Assert.Equal("pxelinux.0", request!.FileName);
        Assert.Equal(TftpMode.Octet, request.Mode);
        Assert.Equal([new("blksize", "1432"), new("tsize", "0")], request.Options);
    }

    [Fact]
    public void A_last_option_cut_short_is_dropped_not_fatal()
    {
        byte[] datagram = [.. RawTftpClient.Request(TftpOpcode.ReadRequest, "a", "netascii", ("blksize", "1432")), .. "tsize"u8];
        Assert.Equal(TftpRequestRejection.None, TftpRequestParser.TryParse(datagram, out var request));
        Assert.Equal(TftpMode.NetAscii, request!.Mode);
        Assert.Single(request.Options);
    }
}
