using System.Buffers.Binary;
using System.Text;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd.Connections;

// The fixed-newstyle handshake, doc/proto.md "Option haggling".
internal sealed partial class NbdConnection
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Runs option haggling; true when an export is open and transmission starts.</summary>
    private async ValueTask<bool> NegotiateAsync(CancellationToken cancellationToken)
    {
        var greeting = _scratch.AsMemory(0, 18);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.Span, NbdProtocol.InitPasswd);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.Span[8..], NbdProtocol.IHaveOpt);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.Span[16..], (ushort)(NbdHandshakeFlags.FixedNewstyle | NbdHandshakeFlags.NoZeroes));
        await WriteAsync(greeting, cancellationToken).ConfigureAwait(false);

        if (!await _input.EnsureAsync(4, cancellationToken).ConfigureAwait(false))
        {
            throw new EndOfStreamException("the client closed before sending its flags");
        }

        _clientFlags = (NbdClientFlags)BinaryPrimitives.ReadUInt32BigEndian(_input.Peek(4));
        _input.Advance(4);
        if ((_clientFlags & ~(NbdClientFlags.FixedNewstyle | NbdClientFlags.NoZeroes)) != 0)
        {
            // "If the client sets a flag the server does not understand, the server MUST close."
            throw new NbdProtocolException($"unknown client flags 0x{(uint)_clientFlags:x}");
        }

        var option = new byte[256];
        while (true)
        {
            if (!await _input.EnsureAsync(NbdProtocol.OptionHeaderSize, cancellationToken).ConfigureAwait(false))
            {
                throw new EndOfStreamException("the client closed during option haggling");
            }

            var header = _input.Peek(NbdProtocol.OptionHeaderSize);
            var magic = BinaryPrimitives.ReadUInt64BigEndian(header);
            var type = (NbdOption)BinaryPrimitives.ReadUInt32BigEndian(header[8..]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(header[12..]);
            _input.Advance(NbdProtocol.OptionHeaderSize);
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

            if (length > _options.MaxOptionLength)
            {
                if (type == NbdOption.ExportName)
                {
                    throw new NbdProtocolException($"NBD_OPT_EXPORT_NAME of {length} bytes");
                }

                await _input.SkipAsync(length, cancellationToken).ConfigureAwait(false);
                await RefuseOptionAsync(type, NbdOptionReply.ErrTooBig, $"option data of {length} bytes is over the limit of {_options.MaxOptionLength}", cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (option.Length < length)
            {
                option = new byte[Math.Max(length, option.Length * 2)];
            }

            var data = option.AsMemory(0, (int)length);
            await _input.ReadExactlyAsync(data, cancellationToken).ConfigureAwait(false);
            switch (type)
            {
                case NbdOption.ExportName:
                    await ExportNameAsync(data, cancellationToken).ConfigureAwait(false);
                    return true;
                case NbdOption.Go:
                case NbdOption.Info:
                    if (await InfoOrGoAsync(type, data, cancellationToken).ConfigureAwait(false))
                    {
                        return true;
                    }

                    break;
                case NbdOption.Abort:
                    // The client may already have closed; an ACK is a courtesy.
                    try
                    {
                        await SendOptionReplyAsync(type, NbdOptionReply.Ack, default, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (IsConnectionFailure(e))
                    {
                    }

                    return false;
                case NbdOption.List:
                    await ListAsync(data, cancellationToken).ConfigureAwait(false);
                    break;
                case NbdOption.StructuredReply:
                    if (length != 0)
                    {
                        await RefuseOptionAsync(type, NbdOptionReply.ErrInvalid, "NBD_OPT_STRUCTURED_REPLY carries no data", cancellationToken).ConfigureAwait(false);
                        break;
                    }

                    _structuredReplies = true;
                    await SendOptionReplyAsync(type, NbdOptionReply.Ack, default, cancellationToken).ConfigureAwait(false);
                    break;
                case NbdOption.ListMetaContext:
                case NbdOption.SetMetaContext:
                    await MetaContextAsync(type, data, cancellationToken).ConfigureAwait(false);
                    break;
                case NbdOption.StartTls:
                    // No TLS here: the spec's answer for a server without TLS support.
                    await RefuseOptionAsync(type, NbdOptionReply.ErrUnsup, "TLS is not supported by this server", cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    await RefuseOptionAsync(type, NbdOptionReply.ErrUnsup, $"option {(uint)type} is not supported", cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
    }

    /// <summary>NBD_OPT_EXPORT_NAME: no error reply exists, so a failure closes the connection.</summary>
    private async ValueTask ExportNameAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var name = DecodeString(data.Span) ?? throw new NbdProtocolException("export name is not UTF-8");
        var result = await OpenExportAsync(name, NbdOpenPurpose.Transmission, cancellationToken).ConfigureAwait(false);
        if (result.Export is not { } export)
        {
            throw new NbdProtocolException($"export '{name}' cannot be opened ({result.Error}) and NBD_OPT_EXPORT_NAME has no error reply");
        }

        _export = export;
        ResetMetaContextsUnlessFor(name);
        var flags = TransmissionFlags(export);
        var zeroes = (_clientFlags & NbdClientFlags.NoZeroes) != 0 ? 0 : NbdProtocol.ExportNameZeroPadding;
        var reply = _scratch.AsMemory(0, 10 + zeroes);
        reply.Span.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(reply.Span, (ulong)export.Device.Size);
        BinaryPrimitives.WriteUInt16BigEndian(reply.Span[8..], (ushort)flags);
        await WriteAsync(reply, cancellationToken).ConfigureAwait(false);
        NbdLog.ExportOpened(_logger, _info, name, export.Device.Size, flags);
    }

    /// <summary>NBD_OPT_INFO and NBD_OPT_GO; true when GO succeeded.</summary>
    private async ValueTask<bool> InfoOrGoAsync(NbdOption type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (!TryParseInfoRequest(data.Span, out var name, out var requested))
        {
            await RefuseOptionAsync(type, NbdOptionReply.ErrInvalid, "malformed NBD_OPT_INFO/GO data", cancellationToken).ConfigureAwait(false);
            return false;
        }

        if (name is null)
        {
            await RefuseOptionAsync(type, NbdOptionReply.ErrInvalid, "export name is not UTF-8 or too long", cancellationToken).ConfigureAwait(false);
            return false;
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
            await RefuseOptionAsync(type, reply, result.Message ?? $"export '{name}' is not available", cancellationToken).ConfigureAwait(false);
            return false;
        }

        var keep = false;
        try
        {
            var flags = TransmissionFlags(export);
            var info = _scratch.AsMemory(0, 12);
            BinaryPrimitives.WriteUInt16BigEndian(info.Span, (ushort)NbdInfo.Export);
            BinaryPrimitives.WriteUInt64BigEndian(info.Span[2..], (ulong)export.Device.Size);
            BinaryPrimitives.WriteUInt16BigEndian(info.Span[10..], (ushort)flags);
            await SendOptionReplyAsync(type, NbdOptionReply.Info, info, cancellationToken).ConfigureAwait(false);

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
            var blockSizesRequested = (requested & (1 << (int)NbdInfo.BlockSize)) != 0;
            var sizes = _scratch.AsMemory(0, 14);
            BinaryPrimitives.WriteUInt16BigEndian(sizes.Span, (ushort)NbdInfo.BlockSize);
            BinaryPrimitives.WriteUInt32BigEndian(sizes.Span[2..], (uint)export.MinimumBlockSize);
            BinaryPrimitives.WriteUInt32BigEndian(sizes.Span[6..], (uint)Math.Max(export.PreferredBlockSize, export.MinimumBlockSize));
            BinaryPrimitives.WriteUInt32BigEndian(sizes.Span[10..], (uint)_options.MaxPayloadSize);
            await SendOptionReplyAsync(type, NbdOptionReply.Info, sizes, cancellationToken).ConfigureAwait(false);

            if (type == NbdOption.Info && !blockSizesRequested && export.MinimumBlockSize > 1)
            {
                await RefuseOptionAsync(type, NbdOptionReply.ErrBlockSizeReqd, $"export '{name}' needs {export.MinimumBlockSize}-byte alignment: request NBD_INFO_BLOCK_SIZE", cancellationToken).ConfigureAwait(false);
                return false;
            }

            await SendOptionReplyAsync(type, NbdOptionReply.Ack, default, cancellationToken).ConfigureAwait(false);
            if (type == NbdOption.Go)
            {
                _export = export;
                _minimumBlockSize = blockSizesRequested ? export.MinimumBlockSize : 1;
                ResetMetaContextsUnlessFor(name);
                keep = true;
                NbdLog.ExportOpened(_logger, _info, name, export.Device.Size, flags);
                return true;
            }

            return false;
        }
        finally
        {
            if (!keep)
            {
                await EndSessionAsync(export, NbdSessionEndReason.NotStarted, TimeSpan.Zero).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<NbdOpenResult> OpenExportAsync(string name, NbdOpenPurpose purpose, CancellationToken cancellationToken)
    {
        NbdOpenResult result;
        try
        {
            result = await _provider.OpenAsync(name, purpose, _info, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            NbdLog.ProviderFailed(_logger, _info, name, e);
            return NbdOpenResult.Failed(NbdOpenError.Unavailable, "the server could not open the export");
        }

        if (result.Export is null)
        {
            NbdLog.ExportRefused(_logger, _info, name, result.Error, result.Message);
        }

        return result;
    }

    private NbdTransmissionFlags TransmissionFlags(NbdExport export)
    {
        var capabilities = export.Device.Capabilities;
        var flags = NbdTransmissionFlags.HasFlags | NbdTransmissionFlags.SendFlush | NbdTransmissionFlags.SendCache;
        if (IsReadOnly(export))
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

    private static bool IsReadOnly(NbdExport export) =>
        export.ReadOnly || (export.Device.Capabilities & BlockDeviceCapabilities.ReadOnly) != 0;

    private async ValueTask ListAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (!data.IsEmpty)
        {
            await RefuseOptionAsync(NbdOption.List, NbdOptionReply.ErrInvalid, "NBD_OPT_LIST carries no data", cancellationToken).ConfigureAwait(false);
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
            await RefuseOptionAsync(NbdOption.List, NbdOptionReply.ErrPlatform, "the server could not list its exports", cancellationToken).ConfigureAwait(false);
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

            var reply = _scratch.AsMemory(0, 4 + name + description);
            BinaryPrimitives.WriteUInt32BigEndian(reply.Span, (uint)name);
            Encoding.UTF8.GetBytes(export.Name, reply.Span[4..]);
            Encoding.UTF8.GetBytes(export.Description ?? "", reply.Span[(4 + name)..]);
            await SendOptionReplyAsync(NbdOption.List, NbdOptionReply.Server, reply, cancellationToken).ConfigureAwait(false);
        }

        await SendOptionReplyAsync(NbdOption.List, NbdOptionReply.Ack, default, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT; only "base:allocation" exists.</summary>
    private async ValueTask MetaContextAsync(NbdOption type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (type == NbdOption.SetMetaContext && !_structuredReplies)
        {
            await RefuseOptionAsync(type, NbdOptionReply.ErrInvalid, "NBD_OPT_SET_META_CONTEXT needs structured replies first", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!TryParseMetaContextRequest(data.Span, out var name, out var queries, out var matches))
        {
            await RefuseOptionAsync(type, NbdOptionReply.ErrInvalid, "malformed meta context request", cancellationToken).ConfigureAwait(false);
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
            var reply = _scratch.AsMemory(0, 4 + context.Length);
            BinaryPrimitives.WriteUInt32BigEndian(reply.Span, NbdProtocol.BaseAllocationContextId);
            Encoding.ASCII.GetBytes(context, reply.Span[4..]);
            await SendOptionReplyAsync(type, NbdOptionReply.MetaContext, reply, cancellationToken).ConfigureAwait(false);
        }

        await SendOptionReplyAsync(type, NbdOptionReply.Ack, default, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Contexts chosen with SET_META_CONTEXT hold only for the export they named.</summary>
    private void ResetMetaContextsUnlessFor(string exportName)
    {
        if (!string.Equals(_metaContextExport, exportName, StringComparison.Ordinal))
        {
            _baseAllocation = false;
        }
    }

    /// <summary>NBD_OPT_INFO/GO data: u32 name length, name, u16 count, count x u16 info type.</summary>
    internal static bool TryParseInfoRequest(ReadOnlySpan<byte> data, out string? name, out int requested)
    {
        name = null;
        requested = 0;
        if (data.Length < 6)
        {
            return false;
        }

        var nameLength = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (nameLength > (uint)data.Length - 6)
        {
            return false;
        }

        var rest = data[(4 + (int)nameLength)..];
        var count = BinaryPrimitives.ReadUInt16BigEndian(rest);
        if (rest.Length != 2 + (2 * count))
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            var info = BinaryPrimitives.ReadUInt16BigEndian(rest[(2 + (2 * i))..]);
            if (info < 16)
            {
                requested |= 1 << info;
            }
        }

        name = nameLength > NbdProtocol.MaxStringLength ? null : DecodeString(data.Slice(4, (int)nameLength));
        return true;
    }

    /// <summary>Meta context data: u32 name length, name, u32 query count, queries as u32 length + string.</summary>
    internal static bool TryParseMetaContextRequest(ReadOnlySpan<byte> data, out string? name, out uint queries, out bool baseAllocation)
    {
        name = null;
        queries = 0;
        baseAllocation = false;
        if (data.Length < 8)
        {
            return false;
        }

        var nameLength = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (nameLength > (uint)data.Length - 8 || nameLength > NbdProtocol.MaxStringLength)
        {
            return false;
        }

        name = DecodeString(data.Slice(4, (int)nameLength));
        if (name is null)
        {
            return false;
        }

        var rest = data[(4 + (int)nameLength)..];
        queries = BinaryPrimitives.ReadUInt32BigEndian(rest);
        rest = rest[4..];
        for (var i = 0u; i < queries; i++)
        {
            if (rest.Length < 4)
            {
                return false;
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(rest);
            if (length > (uint)rest.Length - 4)
            {
                return false;
            }

            var query = rest.Slice(4, (int)length);
            // "base:" asks for every context of the namespace (LIST only, but harmless for SET).
            if (query.SequenceEqual("base:allocation"u8) || query.SequenceEqual("base:"u8))
            {
                baseAllocation = true;
            }

            rest = rest[(4 + (int)length)..];
        }

        return rest.IsEmpty;
    }

    private static string? DecodeString(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return s_strictUtf8.GetString(bytes);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private async ValueTask SendInfoStringAsync(NbdOption type, NbdInfo info, string value, CancellationToken cancellationToken)
    {
        var length = Math.Min(Encoding.UTF8.GetByteCount(value), NbdProtocol.MaxStringLength);
        var reply = new byte[2 + Encoding.UTF8.GetByteCount(value)];
        BinaryPrimitives.WriteUInt16BigEndian(reply, (ushort)info);
        Encoding.UTF8.GetBytes(value, reply.AsSpan(2));
        await SendOptionReplyAsync(type, NbdOptionReply.Info, reply.AsMemory(0, 2 + length), cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask RefuseOptionAsync(NbdOption type, NbdOptionReply reply, string message, CancellationToken cancellationToken)
    {
        NbdLog.OptionRefused(_logger, _info, type, reply, message);
        var text = Encoding.UTF8.GetBytes(message);
        await SendOptionReplyAsync(type, reply, text.AsMemory(0, Math.Min(text.Length, NbdProtocol.MaxStringLength)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One option reply: magic, option, reply type, length, data (one write).</summary>
    private async ValueTask SendOptionReplyAsync(NbdOption type, NbdOptionReply reply, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var message = new byte[NbdProtocol.OptionReplyHeaderSize + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(message, NbdProtocol.OptionReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(8), (uint)type);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(12), (uint)reply);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(16), (uint)data.Length);
        data.Span.CopyTo(message.AsSpan(NbdProtocol.OptionReplyHeaderSize));
        await WriteAsync(message, cancellationToken).ConfigureAwait(false);
    }
}
