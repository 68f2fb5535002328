using Streamboot.Sessions.Decisions;
using Streamboot.Telemetry;

namespace Streamboot.Sessions;

/// <summary>
/// What the session layer counts into the Streamboot meter: each boot
/// script's outcome and the boots it issues, and every refusal it decides
/// (the reasons of log events 1109 and 1204), under the protocol that asked.
/// </summary>
internal static class SessionMetrics
{
    private static readonly KeyValuePair<string, object?> s_boot = new("outcome", "boot");
    private static readonly KeyValuePair<string, object?> s_menu = new("outcome", "menu");
    private static readonly KeyValuePair<string, object?> s_registrationMenu = new("outcome", "registration_menu");
    private static readonly KeyValuePair<string, object?> s_queued = new("outcome", "queued");
    private static readonly KeyValuePair<string, object?> s_refused = new("outcome", "refused");

    public static void Decided(BootDecision decision)
    {
        switch (decision)
        {
            case BootVDisk:
                StreambootMetrics.BootScripts.Add(1, s_boot);
                StreambootMetrics.BootsIssued.Add(1);
                break;
            case BootMenu:
                StreambootMetrics.BootScripts.Add(1, s_menu);
                break;
            case RegistrationMenu:
                StreambootMetrics.BootScripts.Add(1, s_registrationMenu);
                break;
            case BootQueued:
                StreambootMetrics.BootScripts.Add(1, s_queued);
                break;
            case BootRefused refused:
                StreambootMetrics.BootScripts.Add(1, s_refused);
                StreambootMetrics.Refused(StreambootMetrics.Http, MetricLabel.Of(refused.Reason));
                break;
        }
    }

    /// <summary>A view (a disk) or a CHAP proof refused to <paramref name="protocol"/> as the front end named it.</summary>
    public static void Refused(string protocol, SessionRefusal reason) =>
        StreambootMetrics.Refused(ProtocolOf(protocol), MetricLabel.Of(reason));

    /// <summary>The front ends' names of themselves, as a bounded label.</summary>
    private static string ProtocolOf(string protocol) => protocol switch
    {
        "nbd" => StreambootMetrics.Nbd,
        "http" => StreambootMetrics.Http,
        "iscsi" or "challenge" => StreambootMetrics.Iscsi,
        _ => MetricLabel.Other,
    };
}
