using Streamboot.Vms;

namespace Streamboot.Admin.Views;

/// <summary>How a stop went: not running, powered off, or stopped hard (after the timeout or at once), and how long it took.</summary>
public sealed record VmStopped(string Name, VmStopOutcome Outcome, double Seconds);
