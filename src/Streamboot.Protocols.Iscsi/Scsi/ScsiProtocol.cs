namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// Every SCSI constant the logical unit uses, in one place: operation codes
/// (SPC-4 and SBC-3), status codes (SAM-5), sense keys and additional sense
/// codes, VPD pages and mode pages.
/// </summary>
internal static class ScsiProtocol
{
    /// <summary>The logical block size served: what BIOS boot sectors, iPXE's INT 13h and Windows' boot loader assume.</summary>
    public const int BlockSize = 512;

    public const int BlockShift = 9;

    /// <summary>
    /// LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT: 0, one logical block per
    /// physical block (as tgt reports). Partitioners align to 1 MiB anyway,
    /// and a larger physical block makes initiators expect thin-provisioning
    /// answers in physical units.
    /// </summary>
    public const int PhysicalBlockExponent = 0;

    /// <summary>Peripheral device type 00h, a direct-access block device (SBC).</summary>
    public const byte DirectAccessDevice = 0x00;

    /// <summary>Peripheral qualifier 011b and type 1Fh: no logical unit at this LUN (SPC-4 6.6.2).</summary>
    public const byte NoLogicalUnit = 0x7f;

    /// <summary>SPC-4 in the standard INQUIRY data's VERSION field.</summary>
    public const byte VersionSpc4 = 0x06;
}

/// <summary>Operation codes (SPC-4 annex, SBC-3 5.1).</summary>
internal enum ScsiOpcode : byte
{
    TestUnitReady = 0x00,
    RequestSense = 0x03,
    Read6 = 0x08,
    Write6 = 0x0a,
    Inquiry = 0x12,
    ModeSelect6 = 0x15,
    Reserve6 = 0x16,
    Release6 = 0x17,
    ModeSense6 = 0x1a,
    StartStopUnit = 0x1b,
    SendDiagnostic = 0x1d,
    PreventAllowMediumRemoval = 0x1e,
    ReadCapacity10 = 0x25,
    Read10 = 0x28,
    Write10 = 0x2a,
    WriteAndVerify10 = 0x2e,
    Verify10 = 0x2f,
    PreFetch10 = 0x34,
    SynchronizeCache10 = 0x35,
    WriteSame10 = 0x41,
    Unmap = 0x42,
    ModeSelect10 = 0x55,
    Reserve10 = 0x56,
    Release10 = 0x57,
    ModeSense10 = 0x5a,
    PersistentReserveIn = 0x5e,
    PersistentReserveOut = 0x5f,
    Read16 = 0x88,
    CompareAndWrite = 0x89,
    Write16 = 0x8a,
    WriteAndVerify16 = 0x8e,
    Verify16 = 0x8f,
    PreFetch16 = 0x90,
    SynchronizeCache16 = 0x91,
    WriteSame16 = 0x93,
    ServiceActionIn16 = 0x9e,
    ReportLuns = 0xa0,
    MaintenanceIn = 0xa3,
    Read12 = 0xa8,
    Write12 = 0xaa,
    WriteAndVerify12 = 0xae,
    Verify12 = 0xaf,
}

/// <summary>Service actions of SERVICE ACTION IN (16) and MAINTENANCE IN.</summary>
internal static class ScsiServiceAction
{
    public const byte ReadCapacity16 = 0x10;
    public const byte GetLbaStatus = 0x12;
    public const byte ReportSupportedOperationCodes = 0x0c;
}

/// <summary>Status codes (SAM-5 5.3).</summary>
internal enum ScsiStatus : byte
{
    Good = 0x00,
    CheckCondition = 0x02,
    ConditionMet = 0x04,
    Busy = 0x08,
    ReservationConflict = 0x18,
    TaskSetFull = 0x28,
    TaskAborted = 0x40,
}

/// <summary>Sense keys (SPC-4 4.5.6).</summary>
internal enum SenseKey : byte
{
    NoSense = 0x0,
    RecoveredError = 0x1,
    NotReady = 0x2,
    MediumError = 0x3,
    HardwareError = 0x4,
    IllegalRequest = 0x5,
    UnitAttention = 0x6,
    DataProtect = 0x7,
    AbortedCommand = 0xb,
    Miscompare = 0xe,
}

/// <summary>Additional sense code and qualifier pairs (SPC-4 annex D), as ASC &lt;&lt; 8 | ASCQ.</summary>
internal enum AdditionalSense : ushort
{
    NoAdditionalSenseInformation = 0x0000,
    WriteError = 0x0c00,
    UnexpectedUnsolicitedData = 0x0c0c,
    NotEnoughUnsolicitedData = 0x0c0d,
    InvalidFieldInInformationUnit = 0x0e03,
    UnrecoveredReadError = 0x1100,
    MiscompareDuringVerify = 0x1d00,
    ParameterListLengthError = 0x1a00,
    InvalidCommandOperationCode = 0x2000,
    LbaOutOfRange = 0x2100,
    InvalidFieldInCdb = 0x2400,
    LogicalUnitNotSupported = 0x2500,
    InvalidFieldInParameterList = 0x2600,
    ParameterValueInvalid = 0x2602,
    WriteProtected = 0x2700,
    PowerOnResetOrBusDeviceReset = 0x2900,
    ReservationsPreempted = 0x2a03,
    ReservationsReleased = 0x2a04,
    RegistrationsPreempted = 0x2a05,
    SavingParametersNotSupported = 0x3900,
    InternalTargetFailure = 0x4400,
    ProtocolServiceCrcError = 0x4705,
    DataPhaseError = 0x4b00,
    InvalidDataOutBufferOffset = 0x4b05,
    InsufficientRegistrationResources = 0x5504,
    SpaceAllocationFailedWriteProtect = 0x2707,
}

/// <summary>Vital product data pages served (SPC-4 7.8, SBC-3 6.6).</summary>
internal static class VpdPage
{
    public const byte SupportedPages = 0x00;
    public const byte UnitSerialNumber = 0x80;
    public const byte DeviceIdentification = 0x83;
    public const byte BlockLimits = 0xb0;
    public const byte BlockDeviceCharacteristics = 0xb1;
    public const byte LogicalBlockProvisioning = 0xb2;
}

/// <summary>Mode pages served (SBC-3 6.5, SPC-4 7.5).</summary>
internal static class ModePage
{
    public const byte ReadWriteErrorRecovery = 0x01;
    public const byte DisconnectReconnect = 0x02;
    public const byte Caching = 0x08;
    public const byte Control = 0x0a;
    public const byte InformationalExceptionsControl = 0x1c;
    public const byte AllPages = 0x3f;
}

/// <summary>PERSISTENT RESERVE IN and OUT service actions and reservation types (SPC-4 6.15, 6.16).</summary>
internal static class PersistentReserve
{
    public const byte ReadKeys = 0x00;
    public const byte ReadReservation = 0x01;
    public const byte ReportCapabilities = 0x02;
    public const byte ReadFullStatus = 0x03;

    public const byte Register = 0x00;
    public const byte Reserve = 0x01;
    public const byte Release = 0x02;
    public const byte Clear = 0x03;
    public const byte Preempt = 0x04;
    public const byte PreemptAndAbort = 0x05;
    public const byte RegisterAndIgnoreExistingKey = 0x06;
    public const byte RegisterAndMove = 0x07;

    public const byte WriteExclusive = 0x1;
    public const byte ExclusiveAccess = 0x3;
    public const byte WriteExclusiveRegistrantsOnly = 0x5;
    public const byte ExclusiveAccessRegistrantsOnly = 0x6;
    public const byte WriteExclusiveAllRegistrants = 0x7;
    public const byte ExclusiveAccessAllRegistrants = 0x8;
}
