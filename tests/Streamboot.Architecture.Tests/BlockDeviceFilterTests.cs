using System.Reflection;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Architecture.Tests;

/// <summary>
/// A block-device filter passes mapped reads (IReadMapping, the NBD server's
/// sendfile path) through by default. A filter that watches or changes reads
/// must see those too, or its counters, profiles and delays silently miss
/// every big read: one that overrides ReadAsync overrides TryMapRead as well.
/// </summary>
public class BlockDeviceFilterTests
{
    public static TheoryData<string> Filters()
    {
        var data = new TheoryData<string>();
        foreach (var type in FilterTypes())
        {
            data.Add(type.AssemblyQualifiedName!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Filters))]
    public void A_filter_that_sees_reads_sees_mapped_reads(string typeName)
    {
        var type = Type.GetType(typeName, throwOnError: true)!;
        if (Declares(type, nameof(BlockDeviceFilter.ReadAsync)))
        {
            Assert.True(Declares(type, nameof(BlockDeviceFilter.TryMapRead)), $"{type.FullName} overrides ReadAsync but not TryMapRead: mapped reads would bypass it");
        }
    }

    [Fact]
    public void The_rule_finds_the_filters()
    {
        var names = FilterTypes().Select(t => t.FullName).ToList();
        Assert.Contains("Streamboot.Storage.Profiles.BootProfileRecorder", names);
        Assert.Contains("Streamboot.Sessions.Live.CountingBlockDevice", names);
    }

    private static bool Declares(Type type, string method) =>
        type.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly).Any(m => m.Name == method);

    private static IEnumerable<Type> FilterTypes() => SourceTypes().Where(t => t.IsSubclassOf(typeof(BlockDeviceFilter)));

    private static IEnumerable<Type> SourceTypes() =>
        Directory.GetFiles(AppContext.BaseDirectory, "Streamboot.*.dll")
            .Where(path => !Path.GetFileName(path).Contains(".Tests", StringComparison.Ordinal) && !Path.GetFileName(path).StartsWith("Streamboot.Testing", StringComparison.Ordinal))
            .Select(path => Assembly.LoadFrom(path))
            .SelectMany(assembly => assembly.GetTypes());
}
