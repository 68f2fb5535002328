using System.Buffers.Binary;
using System.Security.Authentication;
using System.Text;
using Microsoft.Extensions.Logging;
using Streamboot.Protocols.Nbd.Connections;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Storage.BlockDevices;
using Streamboot.Telemetry;

namespace Streamboot.Protocols.Nbd.Handshake;

/// <summary>
/// The fixed-newstyle handshake, doc/proto.md "Option haggling": the
/// greeting, then options until the client enters transmission
/// (NBD_OPT_GO, NBD_OPT_EXPORT_NAME) or leaves. NBD_OPT_STARTTLS upgrades the
/// connection to TLS and forgets what was agreed before it; in FORCEDTLS
/// mode every other option before it is refused with NBD_REP_ERR_TLS_REQD.
/// Export names reach the log only through the provider's NameForLog, and
/// are not echoed in the error messages sent back.
/// </summary>
internal sealed class NbdHandshake
{
    private readonly NbdTransport _transport;
    private readonly INbdExportProvider _provider;
    private readonly NbdServerOptions _options;
    private readonly ILogger _logger;
    private readonly NbdConnectionInfo _info;
    private NbdClientFlags _clientFlags;
    private bool _structuredReplies;
    private string? _metaContextExport;
    private bool _baseAllocation;

    public NbdHandshake(NbdTransport transport, INbdExportProvider provider, NbdServerOptions options, ILogger logger, NbdConnectionInfo info)
    {
        _transport = transport;
        _provider = provider;
        _options = options;
        _logger = logger;
        _info = info;
    }

    /// <summary>
    /// Runs option haggling. Returns the session when transmission starts,
    /// null when the client aborted or the TLS handshake failed; throws
    /// <see cref="NbdProtocolException"/> when the client broke the protocol.
    /// The export of a returned session belongs to the caller; any other is ended here.
    /// </summary>
    public async ValueTask<NbdSession?> NegotiateAsync(CancellationToken cancellationToken)
    {
        var greeting = new byte[18];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, NbdProtocol.InitPasswd);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), NbdProtocol.IHaveOpt);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.AsSpan(16), (ushort)(NbdHandshakeFlags.FixedNewstyle | NbdHandshakeFlags.NoZeroes));
        await _transport.WriteAsync(greeting, cancellationToken).ConfigureAwait(false);

        var input = _transport.Input;
        if (!await input.EnsureAsync(4, cancellationToken).ConfigureAwait(false))
        {
            throw new EndOfStreamException("the client closed before sending its flags");
        }

        _clientFlags = (NbdClientFlags)BinaryPrimitives.ReadUInt32BigEndian(input.Peek(4));
        input.Advance(4);
        if ((_clientFlags & ~(NbdClientFlags.FixedNewstyle | NbdClientFlags.NoZeroes)) != 0)
        {
            // "If the client sets a flag the server does not understand, the server MUST close."
            throw new NbdProtocolException($"unknown client flags 0x{(uint)_clientFlags:x}");
        }

        var option = new byte[256];
        while (true)
        {
            if (!await input.EnsureAsync(NbdProtocol.OptionHeaderSize, cancellationToken).ConfigureAwait(false))
            {
                throw new EndOfStreamException("the client closed during option haggling");
            }

            var header = input.Peek(NbdProtocol.OptionHeaderSize);
            var magic = BinaryPrimitives.ReadUInt64BigEndian(header);
            var type = (NbdOption)BinaryPrimitives.ReadUInt32BigEndian(header[8..]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(header[12..]);
            input.Advance(NbdProtocol.OptionHeaderSize);
            if (magic != NbdProtocol.IHaveOpt)
            {
                throw new NbdProtocolException($"bad option magic 0x{magic:x16}");
            }

            NbdLog.OptionReceived(_logger, _info, type, length);
            if ((_clientFlags & NbdClientFlags.FixedNewstyle) == 0 && type != NbdOption.ExportName)
            {
                // Plain newstyle has no error replies: the only answer is to hang up.
                throw new NbdProtocolException($"option {type} from a client without NBD_FLAG_C_FIXED_NEWSTYLE");
            }

            if (_options.Tls == NbdTlsMode.Required && !_transport.IsTls && type is not (NbdOption.StartTls or NbdOption.Abort))
            {
                if (type == NbdOption.ExportName)
                {
                    // FORCEDTLS: this option cannot be answered with an error, so the session ends.
                    throw new NbdProtocolException("NBD_OPT_EXPORT_NAME before TLS, which this server requires");
                }

                await input.SkipAsync(length, cancellationToken).ConfigureAwait(false);
                StreambootMetrics.Refused(StreambootMetrics.Nbd, "tls_required");
                await RefuseAsync(type, NbdOptionReply.ErrTlsReqd, "this server requires TLS: send NBD_OPT_STARTTLS first", cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (length > _options.MaxOptionLength)
            {
                if (type == NbdOption.ExportName)
                {
                    throw new NbdProtocolException($"NBD_OPT_EXPORT_NAME of {length} bytes");
                }

                await input.SkipAsync(length, cancellationToken).ConfigureAwait(false);
                await RefuseAsync(type, NbdOptionReply.ErrTooBig, $"option data of {length} bytes is over the limit of {_options.MaxOptionLength}", cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (option.Length < length)
            {
                option = new byte[Math.Max(length, option.Length * 2)];
            }

            var data = option.AsMemory(0, (int)length);
            await input.ReadExactlyAsync(data, cancellationToken).ConfigureAwait(false);
            switch (type)
            {
                case NbdOption.ExportName:
                    return await ExportNameAsync(data, cancellationToken).ConfigureAwait(false);
                case NbdOption.Go:
                case NbdOption.Info:
                    if (await InfoOrGoAsync(type, data, cancellationToken).ConfigureAwait(false) is { } session)
                    {
                        return session;
                    }

                    break;
                case NbdOption.Abort:
                    // The client may already have closed; an ACK is a courtesy.
                    try
                    {
                        await SendReplyAsync(type, NbdOptionReply.Ack, default, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (NbdConnection.IsConnectionFailure(e))
                    {
                    }

                    return null;
                case NbdOption.StartTls:
                    if (!await StartTlsAsync(data, cancellationToken).ConfigureAwait(false))
                    {
                        return null;
                    }

                    break;
                case NbdOption.List:
                    await ListAsync(data, cancellationToken).ConfigureAwait(false);
                    break;
                case NbdOption.StructuredReply:
                    if (length != 0)
                    {
                        await RefuseAsync(type, NbdOptionReply.ErrInvalid, "NBD_OPT_STRUCTURED_REPLY carries no data", cancellationToken).ConfigureAwait(false);
                        break;
                    }

                    _structuredReplies = true;
                    await SendReplyAsync(type, NbdOptionReply.Ack, default, cancellationToken).ConfigureAwait(false);
                    break;
                case NbdOption.ListMetaContext:
                case NbdOption.SetMetaContext:
                    await MetaContextAsync(type, data, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    await RefuseAsync(type, NbdOptionReply.ErrUnsup, $"option {(uint)type} is not supported", cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
    }

    /// <summary>
    /// NBD_OPT_STARTTLS: acknowledge, then the TLS handshake on the same
    /// socket. False when the handshake failed (logged): the connection ends.
    /// </summary>
    private async ValueTask<bool> StartTlsAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_transport.IsTls)
        {
            await RefuseAsync(NbdOption.StartTls, NbdOptionReply.ErrInvalid, "TLS is already on", cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (_options.Tls == NbdTlsMode.Off || _options.TlsCertificate is not { } certificate)
        {
            await RefuseAsync(NbdOption.StartTls, NbdOptionReply.ErrPolicy, "TLS is off on this server", cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (!data.IsEmpty)
        {
            await RefuseAsync(NbdOption.StartTls, NbdOptionReply.ErrInvalid, "NBD_OPT_STARTTLS carries no data", cancellationToken).ConfigureAwait(false);
            return true;
        }

        await SendReplyAsync(NbdOption.StartTls, NbdOptionReply.Ack, default, cancellationToken).ConfigureAwait(false);
        if (_transport.Input.Buffered > 0)
        {
            // The client may not send before the ACK; plaintext here could only
            // be injected to be taken for what came through TLS (the STARTTLS
            // injection of CVE-2011-0411). Never read it as TLS or as options.
            throw new NbdProtocolException("plaintext after NBD_OPT_STARTTLS before the TLS handshake");
        }

        try
        {
            await _transport.StartTlsAsync(certificate, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or EndOfStreamException && !cancellationToken.IsCancellationRequested)
        {
            NbdLog.TlsHandshakeFailed(_logger, _info, NbdLogText.Sanitize(e.InnerException?.Message ?? e.Message));
            return false;
        }

        // doc/proto.md: nothing negotiated before STARTTLS survives it (a MitM may have sent it).
        _structuredReplies = false;
        _metaContextExport = null;
        _baseAllocation = false;
        NbdLog.TlsStarted(_logger, _info, _transport.TlsDescription ?? "");
        return true;
    }

    /// <summary>NBD_OPT_EXPORT_NAME: no error reply exists, so a failure closes the connection.</summary>
    private async ValueTask<NbdSession> ExportNameAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var name = NbdOptionParser.DecodeString(data.Span) ?? throw new NbdProtocolException("the export name is not UTF-8");
        var result = await OpenExportAsync(name, NbdOpenPurpose.Transmission, cancellationToken).ConfigureAwait(false);
        if (result.Export is not { } export)
        {
            throw new NbdProtocolException($"the export cannot be opened ({result.Error}) and NBD_OPT_EXPORT_NAME has no error reply");
        }

        try
        {
            var session = NewSession(export, name, minimumBlockSize: 1);
            var zeroes = (_clientFlags & NbdClientFlags.NoZeroes) != 0 ? 0 : NbdProtocol.ExportNameZeroPadding;
            var reply = new byte[10 + zeroes];
            BinaryPrimitives.WriteUInt64BigEndian(reply, (ulong)export.Device.Size);
            BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), (ushort)session.Flags);
            await _transport.WriteAsync(reply, cancellationToken).ConfigureAwait(false);
            NbdLog.ExportOpened(_logger, _info, _provider.NameForLog(name), export.Device.Size, session.Flags);
            return session;
        }
        catch
        {
            await NbdConnection.EndSessionAsync(export, NotStarted(name), _provider, _logger, _info).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>NBD_OPT_INFO and NBD_OPT_GO; the session when GO succeeded.</summary>
    private async ValueTask<NbdSession?> InfoOrGoAsync(NbdOption type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (!NbdOptionParser.TryParseInfoRequest(data.Span, out var name, out var requested))
        {
            await RefuseAsync(type, NbdOptionReply.ErrInvalid, "malformed NBD_OPT_INFO/GO data", cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (name is null)
        {
            await RefuseAsync(type, NbdOptionReply.ErrInvalid, "the export name is not UTF-8 or too long", cancellationToken).ConfigureAwait(false);
            return null;
        }

        var purpose = type == NbdOption.Go ? NbdOpenPurpose.Transmission : NbdOpenPurpose.Info;
        var result = await OpenExportAsync(name, purpose, cancellationToken).ConfigureAwait(false);
        if (result.Export is not { } export)
        {
            var reply = result.Error switch
            {
                NbdOpenError.Unknown => NbdOptionReply.ErrUnknown,
                NbdOpenError.Refused => NbdOptionReply.ErrPolicy,
                NbdOpenError.ShuttingDown => NbdOptionReply.ErrShutdown,
                _ => NbdOptionReply.ErrPlatform,
            };
            await RefuseAsync(type, reply, result.Message ?? "the export is not available", cancellationToken).ConfigureAwait(false);
            return null;
        }

        var keep = false;
        try
        {
            var blockSizesRequested = (requested & (1 << (int)NbdInfo.BlockSize)) != 0;
            var session = NewSession(export, name, blockSizesRequested ? export.MinimumBlockSize : 1);
            var info = new byte[12];
            BinaryPrimitives.WriteUInt16BigEndian(info, (ushort)NbdInfo.Export);
            BinaryPrimitives.WriteUInt64BigEndian(info.AsSpan(2), (ulong)export.Device.Size);
            BinaryPrimitives.WriteUInt16BigEndian(info.AsSpan(10), (ushort)session.Flags);
            await SendReplyAsync(type, NbdOptionReply.Info, info, cancellationToken).ConfigureAwait(false);

            if ((requested & (1 << (int)NbdInfo.Name)) != 0)
            {
                await SendInfoStringAsync(type, NbdInfo.Name, export.Name, cancellationToken).ConfigureAwait(false);
            }

            if ((requested & (1 << (int)NbdInfo.Description)) != 0 && !string.IsNullOrEmpty(export.Description))
            {
                await SendInfoStringAsync(type, NbdInfo.Description, export.Description, cancellationToken).ConfigureAwait(false);
            }

            // Block sizes are sent even unasked (qemu-nbd does the same); they are only
            // enforced for clients that asked, since the others never agreed to them.
            var sizes = new byte[14];
            BinaryPrimitives.WriteUInt16BigEndian(sizes, (ushort)NbdInfo.BlockSize);
            BinaryPrimitives.WriteUInt32BigEndian(sizes.AsSpan(2), (uint)export.MinimumBlockSize);
            BinaryPrimitives.WriteUInt32BigEndian(sizes.AsSpan(6), (uint)Math.Max(export.PreferredBlockSize, export.MinimumBlockSize));
            BinaryPrimitives.WriteUInt32BigEndian(sizes.AsSpan(10), (uint)_options.MaxPayloadSize);
            await SendReplyAsync(type, NbdOptionReply.Info, sizes, cancellationToken).ConfigureAwait(false);

            if (type == NbdOption.Info && !blockSizesRequested && export.MinimumBlockSize > 1)
            {
                await RefuseAsync(type, NbdOptionReply.ErrBlockSizeReqd, $"the export needs {export.MinimumBlockSize}-byte alignment: request NBD_INFO_BLOCK_SIZE", cancellationToken).ConfigureAwait(false);
                return null;
            }

            await SendReplyAsync(type, NbdOptionReply.Ack, default, cancellationToken).ConfigureAwait(false);
            if (type != NbdOption.Go)
            {
                return null;
            }

            keep = true;
            NbdLog.ExportOpened(_logger, _info, _provider.NameForLog(name), export.Device.Size, session.Flags);
            return session;
        }
        finally
        {
            if (!keep)
            {
                await NbdConnection.EndSessionAsync(export, NotStarted(name), _provider, _logger, _info).ConfigureAwait(false);
            }
        }
    }

    private NbdSessionSummary NotStarted(string name) => new(_info, name, NbdSessionEndReason.NotStarted, 0, 0, 0, TimeSpan.Zero);

    /// <summary>What transmission works with; contexts chosen with SET_META_CONTEXT hold only for the export they named.</summary>
    private NbdSession NewSession(NbdExport export, string name, int minimumBlockSize) => new(export, TransmissionFlags(export))
    {
        StructuredReplies = _structuredReplies,
        BaseAllocation = _baseAllocation && string.Equals(_metaContextExport, name, StringComparison.Ordinal),
        MinimumBlockSize = minimumBlockSize,
    };

    private async ValueTask<NbdOpenResult> OpenExportAsync(string name, NbdOpenPurpose purpose, CancellationToken cancellationToken)
    {
        NbdOpenResult result;
        try
        {
            result = await _provider.OpenAsync(name, purpose, _info, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            NbdLog.ProviderFailed(_logger, _info, _provider.NameForLog(name), e);
            return NbdOpenResult.Failed(NbdOpenError.Unavailable, "the server could not open the export");
        }

        if (result.Export is null)
        {
            NbdLog.ExportRefused(_logger, _info, _provider.NameForLog(name), result.Error, NbdLogText.Sanitize(result.Message));
        }

        return result;
    }

    private NbdTransmissionFlags TransmissionFlags(NbdExport export)
    {
        var capabilities = export.Device.Capabilities;
        var flags = NbdTransmissionFlags.HasFlags | NbdTransmissionFlags.SendFlush | NbdTransmissionFlags.SendCache;
        if (export.ReadOnly || (capabilities & BlockDeviceCapabilities.ReadOnly) != 0)
        {
            flags |= NbdTransmissionFlags.ReadOnly;
        }
        else
        {
            // FUA without device support is a write followed by a flush; trim is
            // only advertised when it frees space; fast zero is always answerable
            // (ENOTSUP when the device cannot zero cheaply).
            flags |= NbdTransmissionFlags.SendFua | NbdTransmissionFlags.SendWriteZeroes | NbdTransmissionFlags.SendFastZero;
            if ((capabilities & BlockDeviceCapabilities.CanTrim) != 0)
            {
                flags |= NbdTransmissionFlags.SendTrim;
            }
        }

        if (export.AllowMultiConn && (capabilities & BlockDeviceCapabilities.CanMultiConn) != 0)
        {
            flags |= NbdTransmissionFlags.CanMultiConn;
        }

        if (_structuredReplies)
        {
            flags |= NbdTransmissionFlags.SendDf;
        }

        return flags;
    }

    private async ValueTask ListAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (!data.IsEmpty)
        {
            await RefuseAsync(NbdOption.List, NbdOptionReply.ErrInvalid, "NBD_OPT_LIST carries no data", cancellationToken).ConfigureAwait(false);
            return;
        }

        IReadOnlyList<NbdExportListing> exports;
        try
        {
            exports = await _provider.ListExportsAsync(_info, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            NbdLog.ProviderFailed(_logger, _info, "(list)", e);
            await RefuseAsync(NbdOption.List, NbdOptionReply.ErrPlatform, "the server could not list its exports", cancellationToken).ConfigureAwait(false);
            return;
        }

        foreach (var export in exports)
        {
            // NBD_REP_SERVER: name length, name, then a free-form description.
            var name = Encoding.UTF8.GetByteCount(export.Name);
            var description = Encoding.UTF8.GetByteCount(export.Description ?? "");
            if (name > NbdProtocol.MaxStringLength || description > NbdProtocol.MaxStringLength)
            {
                continue;
            }

            var reply = new byte[4 + name + description];
            BinaryPrimitives.WriteUInt32BigEndian(reply, (uint)name);
            Encoding.UTF8.GetBytes(export.Name, reply.AsSpan(4));
            Encoding.UTF8.GetBytes(export.Description ?? "", reply.AsSpan(4 + name));
            await SendReplyAsync(NbdOption.List, NbdOptionReply.Server, reply, cancellationToken).ConfigureAwait(false);
        }

        await SendReplyAsync(NbdOption.List, NbdOptionReply.Ack, default, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT; only "base:allocation" exists.</summary>
    private async ValueTask MetaContextAsync(NbdOption type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (type == NbdOption.SetMetaContext && !_structuredReplies)
        {
            await RefuseAsync(type, NbdOptionReply.ErrInvalid, "NBD_OPT_SET_META_CONTEXT needs structured replies first", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!NbdOptionParser.TryParseMetaContextRequest(data.Span, out var name, out var queries, out var matches))
        {
            await RefuseAsync(type, NbdOptionReply.ErrInvalid, "malformed meta context request", cancellationToken).ConfigureAwait(false);
            return;
        }

        // An empty LIST asks for every context; an empty SET selects none.
        var selected = matches || (type == NbdOption.ListMetaContext && queries == 0);
        if (type == NbdOption.SetMetaContext)
        {
            _metaContextExport = name;
            _baseAllocation = selected;
        }

        if (selected)
        {
            var context = NbdProtocol.BaseAllocation;
            var reply = new byte[4 + context.Length];
            BinaryPrimitives.WriteUInt32BigEndian(reply, NbdProtocol.BaseAllocationContextId);
            Encoding.ASCII.GetBytes(context, reply.AsSpan(4));
            await SendReplyAsync(type, NbdOptionReply.MetaContext, reply, cancellationToken).ConfigureAwait(false);
        }

        await SendReplyAsync(type, NbdOptionReply.Ack, default, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask SendInfoStringAsync(NbdOption type, NbdInfo info, string value, CancellationToken cancellationToken)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        var reply = new byte[2 + Math.Min(bytes.Length, NbdProtocol.MaxStringLength)];
        BinaryPrimitives.WriteUInt16BigEndian(reply, (ushort)info);
        bytes.AsSpan(0, reply.Length - 2).CopyTo(reply.AsSpan(2));
        await SendReplyAsync(type, NbdOptionReply.Info, reply, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An error reply with a message for the client (server text only: never the client's own strings).</summary>
    private async ValueTask RefuseAsync(NbdOption type, NbdOptionReply reply, string message, CancellationToken cancellationToken)
    {
        NbdLog.OptionRefused(_logger, _info, type, reply, NbdLogText.Sanitize(message));
        var text = Encoding.UTF8.GetBytes(message);
        await SendReplyAsync(type, reply, text.AsMemory(0, Math.Min(text.Length, NbdProtocol.MaxStringLength)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One option reply: magic, option, reply type, length, data (one write).</summary>
    private async ValueTask SendReplyAsync(NbdOption type, NbdOptionReply reply, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var message = new byte[NbdProtocol.OptionReplyHeaderSize + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(message, NbdProtocol.OptionReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(8), (uint)type);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(12), (uint)reply);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(16), (uint)data.Length);
        data.Span.CopyTo(message.AsSpan(NbdProtocol.OptionReplyHeaderSize));
        await _transport.WriteAsync(message, cancellationToken).ConfigureAwait(false);
    }
}
