using System.Diagnostics.CodeAnalysis;
using System.Net.Security;
using Streamboot.Protocols.Nbd;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Nbd;

/// <summary>The NBD server's settings (StreambootOptions) checked, with one sentence per mistake, and turned into <see cref="NbdServerOptions"/>.</summary>
public static class NbdSettings
{
    /// <summary>off, on (offered) or require.</summary>
    public static bool TryParseTls(string? value, out NbdTlsMode mode)
    {
        switch (value?.Trim().ToLowerInvariant())
        {
            case "off":
                mode = NbdTlsMode.Off;
                return true;
            case "on":
                mode = NbdTlsMode.Offered;
                return true;
            case "require":
                mode = NbdTlsMode.Required;
                return true;
            default:
                mode = NbdTlsMode.Off;
                return false;
        }
    }

    /// <summary>False with a message naming the setting (and flag) to fix.</summary>
    public static bool TryValidate(StreambootOptions options, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (!TryParseTls(options.Tls, out _))
        {
            error = $"'{options.Tls}' is not a TLS mode; use --tls off, on or require (Streamboot:Tls, STREAMBOOT_TLS)";
        }
        else if ((options.TlsCert is null) != (options.TlsKey is null))
        {
            error = "give both --tls-cert and --tls-key (a PEM certificate and its private key), or neither for the site's own certificate";
        }
        else if (options.TlsCert is { } cert && !File.Exists(cert))
        {
            error = $"TLS certificate {cert} does not exist (--tls-cert)";
        }
        else if (options.TlsKey is { } key && !File.Exists(key))
        {
            error = $"TLS key {key} does not exist (--tls-key)";
        }
        else
        {
            error = OutOfRange(options.NbdMaxConnections, 1, "NBD connection limit", "NbdMaxConnections", "STREAMBOOT_NBD_MAX_CONNECTIONS", null)
                ?? OutOfRange(options.NbdMaxConnectionsPerAddress, 1, "NBD connections per client address", "NbdMaxConnectionsPerAddress", "STREAMBOOT_NBD_MAX_CONNECTIONS_PER_ADDRESS", "--nbd-max-connections-per-address")
                ?? OutOfRange(options.NbdHandshakeTimeoutSeconds, 1, "NBD handshake timeout", "NbdHandshakeTimeoutSeconds", "STREAMBOOT_NBD_HANDSHAKE_TIMEOUT_SECONDS", null)
                ?? OutOfRange(options.NbdIdleTimeoutSeconds, 0, "NBD idle timeout (0: never)", "NbdIdleTimeoutSeconds", "STREAMBOOT_NBD_IDLE_TIMEOUT_SECONDS", "--nbd-idle-timeout")
                ?? OutOfRange(options.NbdStallTimeoutSeconds, 0, "NBD stall timeout (0: never)", "NbdStallTimeoutSeconds", "STREAMBOOT_NBD_STALL_TIMEOUT_SECONDS", null)
                ?? OutOfRange(options.NbdMaxInFlightMiBPerConnection, 1, "NBD MiB in flight per connection", "NbdMaxInFlightMiBPerConnection", "STREAMBOOT_NBD_MAX_IN_FLIGHT_MIB_PER_CONNECTION", null)
                ?? OutOfRange(options.NbdMaxInFlightMiB, 33, "NBD MiB in flight in all (it must hold one 32 MiB request)", "NbdMaxInFlightMiB", "STREAMBOOT_NBD_MAX_IN_FLIGHT_MIB", null)
                ?? OutOfRange(options.NbdReservedInFlightKiBPerConnection, 0, "NBD KiB reserved in flight per connection", "NbdReservedInFlightKiBPerConnection", "STREAMBOOT_NBD_RESERVED_IN_FLIGHT_KIB_PER_CONNECTION", null);
        }

        return error is null;
    }

    /// <summary>The protocol's options from valid settings; <paramref name="certificate"/> when TLS is not off.</summary>
    public static NbdServerOptions Create(StreambootOptions options, SslStreamCertificateContext? certificate)
    {
        TryParseTls(options.Tls, out var tls);
        return new NbdServerOptions
        {
            MaxConnections = options.NbdMaxConnections,
            MaxConnectionsPerAddress = options.NbdMaxConnectionsPerAddress,
            HandshakeTimeout = TimeSpan.FromSeconds(options.NbdHandshakeTimeoutSeconds),
            IdleTimeout = options.NbdIdleTimeoutSeconds == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(options.NbdIdleTimeoutSeconds),
            StallTimeout = options.NbdStallTimeoutSeconds == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(options.NbdStallTimeoutSeconds),
            MaxInFlightBytesPerConnection = (long)options.NbdMaxInFlightMiBPerConnection << 20,
            MaxInFlightBytes = (long)options.NbdMaxInFlightMiB << 20,
            ReservedInFlightBytesPerConnection = (long)options.NbdReservedInFlightKiBPerConnection << 10,
            Tls = tls,
            TlsCertificate = tls == NbdTlsMode.Off ? null : certificate,
        };
    }

    private static string? OutOfRange(int value, int minimum, string what, string key, string environment, string? flag) =>
        value >= minimum ? null : $"{what} {value} is out of range; use {minimum} or more ({(flag is null ? "" : flag + ", ")}Streamboot:{key}, {environment})";
}
