using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Streamboot.Data.Model;
using Streamboot.Storage.Integrity;

namespace Streamboot.Server.Farm;

/// <summary>
/// Fetches one version's file from another server of the farm
/// (<c>GET /farm/versions/ID</c>, signed with the farm's secret) into this
/// server's data folder, through <see cref="VerifiedFileWriter"/>: the file
/// appears under its name only when its bytes hash to the version's content
/// hash. Sources are tried in turn; a source that sends wrong bytes, stalls
/// or fails is logged (status and reason, never its text) and the next one
/// tried.
/// </summary>
internal sealed partial class ReplicaCopier : IDisposable
{
    private readonly HttpClient _http;
    private readonly FarmSecret _secret;
    private readonly ReplicaSettings _settings;
    private readonly BytePacer _pace;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;

    public ReplicaCopier(FarmSecret secret, ReplicaSettings settings, TimeProvider clock, ILogger logger)
    {
        _secret = secret;
        _settings = settings;
        _clock = clock;
        _logger = logger;
        _pace = BytePacer.FromMiB(settings.ReplicaCopyMiBPerSecond, clock);
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>A server that may hand out the version: its name, and where its HTTP port listens.</summary>
    public sealed record Source(string Name, string Address, int HttpPort);

    /// <summary>Copies the version to <paramref name="path"/> from the first source that hands out the right bytes; the source's name, or null.</summary>
    public async Task<string?> CopyAsync(VDisk vdisk, VDiskVersion version, string path, IReadOnlyList<Source> sources, CancellationToken cancellationToken)
    {
        var expected = new ContentDigest(version.ContentHash!, version.ContentLength ?? -1);
        var secret = await _secret.GetAsync(cancellationToken);
        foreach (var source in sources)
        {
            var started = Stopwatch.GetTimestamp();
            var outcome = await FetchAsync(source, version.Id, path, expected, secret, cancellationToken);
            if (outcome is null)
            {
                continue;
            }

            if (outcome == CopyOutcome.Verified)
            {
                var seconds = Math.Max(Stopwatch.GetElapsedTime(started).TotalSeconds, 1e-3);
                LogCopied(_logger, vdisk.Name, version.Number, source.Name, expected.Length, seconds, expected.Length / seconds / (1 << 20));
                return source.Name;
            }

            LogWrongBytes(_logger, vdisk.Name, version.Number, source.Name, outcome.Value);
        }

        return null;
    }

    /// <summary>One attempt; null when the source could not be asked (it is logged).</summary>
    private async Task<CopyOutcome?> FetchAsync(Source source, long versionId, string path, ContentDigest expected, byte[] secret, CancellationToken cancellationToken)
    {
        var route = FarmEndpoints.VersionsPath + versionId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var host = IPAddress.TryParse(source.Address, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ip}]" : source.Address;
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{host}:{source.HttpPort}{route}"));
        request.Headers.Authorization = AuthenticationHeaderValue.Parse(FarmSignature.Sign(secret, "GET", route, _clock.GetUtcNow()));
        var stall = TimeSpan.FromSeconds(Math.Max(1, _settings.ReplicaStallSeconds));
        using var stalled = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stalled.CancelAfter(stall);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stalled.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                LogSourceFailed(_logger, source.Name, versionId, $"HTTP {(int)response.StatusCode}");
                return null;
            }

            if (response.Content.Headers.ContentLength is { } length && length != expected.Length)
            {
                LogSourceFailed(_logger, source.Name, versionId, $"it offers {length} bytes, the version has {expected.Length}");
                return null;
            }

            await using var body = await response.Content.ReadAsStreamAsync(stalled.Token);
            return await VerifiedFileWriter.WriteAsync(
                body,
                path,
                expected,
                _pace.WaitAsync,
                new StallWatch(stalled, stall),
                stalled.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogSourceFailed(_logger, source.Name, versionId, $"no bytes for {stall.TotalSeconds:0} s");
            return null;
        }
        catch (HttpRequestException e)
        {
            LogSourceFailed(_logger, source.Name, versionId, e.HttpRequestError.ToString());
            return null;
        }
        catch (IOException e) when (e.InnerException is SocketException or HttpRequestException)
        {
            LogSourceFailed(_logger, source.Name, versionId, "the connection broke");
            return null;
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Every block that arrives pushes the stall deadline on.</summary>
    private sealed class StallWatch(CancellationTokenSource stalled, TimeSpan stall) : IProgress<long>
    {
        public void Report(long value) => stalled.CancelAfter(stall);
    }

    [LoggerMessage(1021, LogLevel.Information, "Replica: copied vDisk {VDisk} version {Version} from {Source}: {Bytes} bytes in {Seconds:0.00} s ({MiBPerSecond:0} MiB/s), hash verified")]
    private static partial void LogCopied(ILogger logger, string vdisk, int version, string source, long bytes, double seconds, double mibPerSecond);

    [LoggerMessage(1022, LogLevel.Warning, "Replica: {Source} sent vDisk {VDisk} version {Version} with the wrong bytes ({Outcome}); discarded, trying another server")]
    private static partial void LogWrongBytes(ILogger logger, string vdisk, int version, string source, CopyOutcome outcome);

    [LoggerMessage(1023, LogLevel.Warning, "Replica: cannot copy version id {VersionId} from {Source}: {Reason}")]
    private static partial void LogSourceFailed(ILogger logger, string source, long versionId, string reason);
}
