using Streamboot.Protocols.Iscsi.Scsi;
using Streamboot.Protocols.Iscsi.Targets;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Iscsi;

/// <summary>
/// The one place where failures become iSCSI and SCSI answers: a block
/// device's failure becomes sense data, a provider's refusal a login status.
/// </summary>
internal static class IscsiErrors
{
    /// <summary>The sense data for a failed device operation (SPC-4 annex D).</summary>
    public static SenseData SenseOf(Exception exception, bool writing) => exception switch
    {
        BlockDeviceException { Error: BlockDeviceError.ReadOnly } => SenseData.WriteProtected,
        BlockDeviceException { Error: BlockDeviceError.OutOfRange } => SenseData.LbaOutOfRange,
        // A full write cache: thin provisioning's "space allocation failed" (SBC-3 4.7.3.6).
        BlockDeviceException { Error: BlockDeviceError.NoSpace } => new SenseData(SenseKey.DataProtect, AdditionalSense.SpaceAllocationFailedWriteProtect),
        BlockDeviceException { Error: BlockDeviceError.Io } => writing
            ? new SenseData(SenseKey.MediumError, AdditionalSense.WriteError)
            : new SenseData(SenseKey.MediumError, AdditionalSense.UnrecoveredReadError),
        NotSupportedException => new SenseData(SenseKey.IllegalRequest, AdditionalSense.InvalidCommandOperationCode),
        _ => new SenseData(SenseKey.HardwareError, AdditionalSense.InternalTargetFailure),
    };

    /// <summary>Failures the initiator caused or expects; the rest are logged as warnings.</summary>
    public static bool IsExpected(Exception exception) =>
        exception is BlockDeviceException { Error: BlockDeviceError.ReadOnly or BlockDeviceError.OutOfRange or BlockDeviceError.NoSpace }
            or NotSupportedException or OperationCanceledException;

    /// <summary>The login status for a target that was not opened (RFC 7143 11.13.5).</summary>
    public static LoginStatus LoginStatusOf(IscsiOpenError error) => error switch
    {
        IscsiOpenError.NotFound => LoginStatus.NotFound,
        IscsiOpenError.Refused => LoginStatus.AuthorizationFailure,
        _ => LoginStatus.ServiceUnavailable,
    };

    public static LoginStatus LoginStatusOf(IscsiTargetLookup lookup) => lookup switch
    {
        IscsiTargetLookup.NotFound => LoginStatus.NotFound,
        IscsiTargetLookup.Refused => LoginStatus.AuthorizationFailure,
        _ => LoginStatus.Success,
    };
}
