using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Streamboot.Data.Model;

namespace Streamboot.Data;

/// <summary>
/// The EF Core view of the schema that the migrations in <c>Migrations/</c>
/// create. The schema is the migrations' to define; this maps onto it
/// (snake_case names, enums as kebab-case text, times in UTC).
/// </summary>
public sealed class StreambootDbContext(DbContextOptions<StreambootDbContext> options) : DbContext(options)
{
    public DbSet<Device> Devices => Set<Device>();

    public DbSet<Collection> Collections => Set<Collection>();

    public DbSet<VDisk> VDisks => Set<VDisk>();

    public DbSet<VDiskVersion> VDiskVersions => Set<VDiskVersion>();

    public DbSet<Assignment> Assignments => Set<Assignment>();

    public DbSet<Server> Servers => Set<Server>();

    public DbSet<Session> Sessions => Set<Session>();

    public DbSet<Boot> Boots => Set<Boot>();

    public DbSet<BootRefusalRow> BootRefusals => Set<BootRefusalRow>();

    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();

    public DbSet<DhcpLeaseRow> DhcpLeases => Set<DhcpLeaseRow>();

    public DbSet<VirtualMachine> VirtualMachines => Set<VirtualMachine>();

    public DbSet<SiteSettings> SiteSettings => Set<SiteSettings>();

    public DbSet<VersionReplica> VersionReplicas => Set<VersionReplica>();

    public DbSet<Account> Accounts => Set<Account>();

    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        configurationBuilder.Properties<DeviceType>().HaveConversion<KebabEnumConverter<DeviceType>>();
        configurationBuilder.Properties<WriteCacheMode>().HaveConversion<KebabEnumConverter<WriteCacheMode>>();
        configurationBuilder.Properties<AccessMode>().HaveConversion<KebabEnumConverter<AccessMode>>();
        configurationBuilder.Properties<UnknownDevicePolicy>().HaveConversion<KebabEnumConverter<UnknownDevicePolicy>>();
        configurationBuilder.Properties<ImageFormat>().HaveConversion<KebabEnumConverter<ImageFormat>>();
        configurationBuilder.Properties<VersionStage>().HaveConversion<KebabEnumConverter<VersionStage>>();
        configurationBuilder.Properties<GuestOsFamily>().HaveConversion<KebabEnumConverter<GuestOsFamily>>();
        configurationBuilder.Properties<VmFirmware>().HaveConversion<KebabEnumConverter<VmFirmware>>();
        configurationBuilder.Properties<VmNetworkMode>().HaveConversion<KebabEnumConverter<VmNetworkMode>>();
        configurationBuilder.Properties<VmDiskBus>().HaveConversion<KebabEnumConverter<VmDiskBus>>();
        configurationBuilder.Properties<BootProtocol>().HaveConversion<KebabEnumConverter<BootProtocol>>();
        configurationBuilder.Properties<BootLoader>().HaveConversion<KebabEnumConverter<BootLoader>>();
        configurationBuilder.Properties<StoreKind>().HaveConversion<KebabEnumConverter<StoreKind>>();
        configurationBuilder.Properties<ReplicaState>().HaveConversion<KebabEnumConverter<ReplicaState>>();
        configurationBuilder.Properties<ApiScope>().HaveConversion<KebabEnumConverter<ApiScope>>();
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<VDisk>(e =>
        {
            e.ToTable("vdisks");
            e.HasMany(v => v.Versions).WithOne(v => v.VDisk).HasForeignKey(v => v.VDiskId);
        });
        modelBuilder.Entity<VDiskVersion>(e =>
        {
            e.ToTable("vdisk_versions");
            e.Property(v => v.VDiskId).HasColumnName("vdisk_id");
        });
        modelBuilder.Entity<Collection>(e =>
        {
            e.Property(c => c.DefaultVDiskId).HasColumnName("default_vdisk_id");
            e.HasOne(c => c.DefaultVDisk).WithMany().HasForeignKey(c => c.DefaultVDiskId).OnDelete(DeleteBehavior.SetNull);
            e.HasMany(c => c.Devices).WithOne(d => d.Collection).HasForeignKey(d => d.CollectionId).OnDelete(DeleteBehavior.Restrict);
        });
        modelBuilder.Entity<Device>(e =>
        {
            e.HasMany(d => d.Assignments).WithOne(a => a.Device).HasForeignKey(a => a.DeviceId);
        });
        modelBuilder.Entity<Assignment>(e =>
        {
            e.HasKey(a => new { a.DeviceId, a.VDiskId });
            e.Property(a => a.VDiskId).HasColumnName("vdisk_id");
            e.HasOne(a => a.VDisk).WithMany(v => v.Assignments).HasForeignKey(a => a.VDiskId);
        });
        modelBuilder.Entity<Session>(e =>
        {
            e.Property(s => s.VDiskId).HasColumnName("vdisk_id");
            e.HasOne(s => s.Device).WithMany().HasForeignKey(s => s.DeviceId).OnDelete(DeleteBehavior.SetNull);
            e.HasOne(s => s.Server).WithMany().HasForeignKey(s => s.ServerId).OnDelete(DeleteBehavior.SetNull);
        });
        modelBuilder.Entity<Boot>(e =>
        {
            e.Property(b => b.VDiskId).HasColumnName("vdisk_id");
            e.HasOne(b => b.Device).WithMany().HasForeignKey(b => b.DeviceId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<BootRefusalRow>(e =>
        {
            e.ToTable("boot_refusals");
            e.Property(r => r.VDisk).HasColumnName("vdisk");
            e.HasOne(r => r.Device).WithMany().HasForeignKey(r => r.DeviceId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne(r => r.Server).WithMany().HasForeignKey(r => r.ServerId).OnDelete(DeleteBehavior.SetNull);
        });
        modelBuilder.Entity<AuditEntry>(e => e.ToTable("audit_log"));
        modelBuilder.Entity<ApiToken>(e => e.ToTable("api_tokens"));
        modelBuilder.Entity<VirtualMachine>(e =>
        {
            e.ToTable("vms");
            e.Property(v => v.MemoryMiB).HasColumnName("memory_mib");
            e.HasOne(v => v.Device).WithMany().HasForeignKey(v => v.DeviceId).OnDelete(DeleteBehavior.SetNull);
        });
        modelBuilder.Entity<SiteSettings>(e =>
        {
            e.ToTable("site_settings");
            e.Property(s => s.Id).ValueGeneratedNever();
        });
        modelBuilder.Entity<VersionReplica>(e =>
        {
            e.ToTable("version_replicas");
            e.HasKey(r => new { r.VersionId, r.ServerId });
            e.HasOne(r => r.Version).WithMany().HasForeignKey(r => r.VersionId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne(r => r.Server).WithMany().HasForeignKey(r => r.ServerId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<DhcpLeaseRow>(e =>
        {
            e.ToTable("dhcp_leases");
            e.HasKey(l => l.Address);
        });
    }

    /// <summary>
    /// Times are UTC everywhere. SQLite hands back text with no zone, so
    /// reads are marked UTC; writes are converted in case a caller passed
    /// local time (Npgsql refuses non-UTC times for timestamptz).
    /// </summary>
    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
}
